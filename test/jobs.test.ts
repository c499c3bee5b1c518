// Sweeps as job lists: compare --plan, run-job by index (as Slurm and Kubernetes give it), retries that
// are safe, and compare --collect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { cli, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

test('compare --plan → run-job by index (flag, Kubernetes, Slurm) → compare --collect; retries are safe', () => {
  const dir = tempDir('ff-jobs-');
  const f = writeSchedule(dir, tinySchedule(32, `  - { name: head, epochs: 1, lr: 1.0e-3 }\n`), 'sweep.yaml');
  const out = join(dir, 'sweep');
  const plan = join(dir, 'jobs.jsonl');
  const args = ['compare', '--schedules', f, '--seeds', '3', '--out', out, '--backend', 'wasm', '--plan', plan];
  assert.equal(cli(args).code, 0);
  const jobs = readFileSync(plan, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(jobs.length, 3);
  assert.equal(new Set(jobs.map((j) => j.id)).size, 3, 'distinct ids');
  assert.match(jobs[0].command, /bin\/freezeflow train -s .* --out .* --seed 1 --backend wasm/);
  // planned again: the same ids
  assert.equal(cli(args).code, 0);
  assert.deepEqual(
    readFileSync(plan, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id),
    jobs.map((j) => j.id),
  );
  // a collect before anything ran: every job missing, nothing written into the runs
  const none = cli(['compare', '--schedules', f, '--seeds', '3', '--out', out, '--collect', '--json']);
  assert.equal(none.code, 1, 'a collect with runs missing fails');
  assert.equal((none.stderr.match(/: missing/g) ?? []).length, 3);
  // a worker killed mid-run (a lost machine, a preemption without warning): the retry resumes it
  const killed = cli(['run-job', '--plan', plan, '--index', '0'], { env: { FREEZEFLOW_FAULT: 'stage-end:1' } });
  assert.equal(killed.code, null);
  const retry = cli(['run-job', '--plan', plan, '--index', '0']);
  assert.equal(retry.code, 0, retry.stderr);
  assert.match(retry.stderr, /resumes/);
  assert.equal(cli(['run-job', '--plan', plan], { env: { JOB_COMPLETION_INDEX: '1' } }).code, 0);
  // Slurm's index; then a retry of a finished job: exit 0 at once
  assert.equal(cli(['run-job', '--plan', plan], { env: { SLURM_ARRAY_TASK_ID: '2' } }).code, 0);
  const again = cli(['run-job', '--plan', plan, '--index', '2']);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /already finished/);
  const table = cli(['compare', '--schedules', f, '--seeds', '3', '--out', out, '--collect', '--json']);
  assert.equal(table.code, 0, table.stderr);
  const result = JSON.parse(table.stdout) as { runs: { status: string; seed: number }[] };
  assert.deepEqual(
    result.runs.map((r) => [r.seed, r.status]),
    [
      [1, 'completed'],
      [2, 'completed'],
      [3, 'completed'],
    ],
  );
  // bad jobs are usage errors (the engine should not retry them)
  assert.equal(cli(['run-job', '--plan', plan, '--index', '9']).code, 2);
  assert.equal(cli(['run-job', '--plan', plan]).code, 2, 'no index anywhere');
  writeFileSync(join(dir, 'bad.jsonl'), '{not json\n');
  assert.equal(cli(['run-job', '--plan', join(dir, 'bad.jsonl'), '--index', '0']).code, 2);
});

const parallel = spawnSync('parallel', ['--version']).status === 0;

test(
  'GNU parallel: a sweep with --joblog --resume-failed, one job killed mid-run, rerun → the table of a sequential run',
  { skip: !parallel && 'GNU parallel is not installed (apt-get install parallel)' },
  () => {
    const dir = tempDir('ff-parallel-');
    const f = writeSchedule(
      dir,
      tinySchedule(
        32,
        `  - { name: head, epochs: 1, lr: 1.0e-3 }\n  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-3 }\n`,
      ),
      'sweep.yaml',
    );
    const sweep = (out: string, ...more: string[]) =>
      cli(['compare', '--schedules', f, '--seeds', '2', '--out', out, '--backend', 'wasm', '--json', ...more]);
    const sequential = sweep(join(dir, 'seq'));
    assert.equal(sequential.code, 0, sequential.stderr);
    const plan = join(dir, 'jobs.jsonl');
    assert.equal(sweep(join(dir, 'par'), '--plan', plan).code, 0);
    const bin = `${process.execPath} ${join(ROOT, 'bin/freezeflow')}`;
    // job 1's worker dies at the end of its first stage (SIGKILL), as on a lost machine
    const job = `sh -c 'if [ {} = 1 ] && [ ! -e ${dir}/killed ]; then touch ${dir}/killed; export FREEZEFLOW_FAULT=stage-end:1; fi; exec ${bin} run-job --plan ${plan} --index {}'`;
    const run = () =>
      spawnSync('parallel', ['--joblog', join(dir, 'joblog'), '--resume-failed', '-j', '2', job, ':::', '0', '1'], {
        encoding: 'utf8',
      });
    assert.notEqual(run().status, 0, 'the first pass reports the killed job');
    assert.equal(run().status, 0, 'the rerun retries only that job, which resumes');
    const collected = sweep(join(dir, 'par'), '--collect');
    assert.equal(collected.code, 0, collected.stderr);
    const table = (r: { stdout: string }) =>
      (
        JSON.parse(r.stdout) as { runs: { seed: number; status: string; bestValAcc: number; bestValLoss: number }[] }
      ).runs.map(({ seed, status, bestValAcc, bestValLoss }) => ({ seed, status, bestValAcc, bestValLoss }));
    assert.deepEqual(table(collected), table(sequential));
  },
);

test('compare --plan --k8s: an Indexed Job that validates against batch/v1 Job, mounting what the pods need', async () => {
  const { Job } = await import('kubernetes-models/batch/v1/Job');
  const { sharedRoot } = await import('../src/cli/k8s.js');
  const dir = tempDir('ff-k8s-');
  const f = writeSchedule(dir, tinySchedule(32, `  - { name: head, epochs: 1, lr: 1.0e-3 }\n`), 'sweep.yaml');
  const plan = join(dir, 'plan', 'jobs.jsonl');
  const manifest = join(dir, 'job.yaml');
  const base = ['compare', '--schedules', f, '--seeds', '3', '--out', join(dir, 'sweep'), '--plan', plan];
  const made = cli([...base, '--k8s', manifest, '--image', 'registry.example/freezeflow:1', '--jobs', '2']);
  assert.equal(made.code, 0, made.stderr);
  const job = parse(readFileSync(manifest, 'utf8')) as IJob;
  new Job(job).validate(); // throws with the offending path when the manifest breaks the schema
  const spec = job.spec!;
  assert.deepEqual([spec.completions, spec.parallelism, spec.completionMode], [3, 2, 'Indexed']);
  const pod = spec.template.spec!.containers[0]!;
  assert.deepEqual(pod.command, ['freezeflow', 'run-job', '--plan', plan]);
  assert.equal(pod.volumeMounts![0]!.mountPath, dir, 'the deepest folder holding the list, the schedule and --out');
  // the validator is real: a broken manifest is refused
  assert.throws(() => new Job({ ...job, spec: { ...spec, completionMode: 'Sometimes' as never } }).validate());
  assert.throws(() => sharedRoot(['/srv/a/jobs.jsonl', '/home/b/sweep']), /share no folder/);
  assert.equal(cli([...base, '--k8s', manifest]).code, 2, '--k8s without --image');
  assert.equal(cli([...base, '--image', 'x']).code, 2, '--image without --k8s');
});
