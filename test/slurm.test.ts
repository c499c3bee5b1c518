// A sweep on a real (one-node) Slurm cluster: scripts/slurm-cluster.sh starts slurmctld + slurmd on this
// machine, scripts/slurm-sweep.sh submits the job list as an array, one task is preempted mid-run (requeue:
// SIGTERM, checkpoint, exit 130) and resumes, and the collected table equals a sequential run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const required = process.env['FREEZEFLOW_REQUIRE_SLURM'] === '1';
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const missing =
  process.getuid?.() !== 0
    ? 'the one-node cluster needs root'
    : ['munged', 'slurmctld', 'slurmd', 'sbatch'].find((b) => !has(b))
      ? 'slurm-wlm or munge is not installed (apt-get install slurm-wlm munge)'
      : undefined;
if (required && missing) throw new Error(`FREEZEFLOW_REQUIRE_SLURM=1 but ${missing}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined, seconds = 120): Promise<T> {
  for (let i = 0; i < seconds * 10; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const epochsIn = (runDir: string) =>
  existsSync(join(runDir, 'events.ndjson'))
    ? (readFileSync(join(runDir, 'events.ndjson'), 'utf8').match(/"type":"epoch-end"/g) ?? []).length
    : 0;

test(
  'Slurm array: a sweep with one task preempted mid-run (requeued, resumed) → the table of a sequential run',
  { skip: missing },
  async () => {
    const dir = tempDir('ff-slurm-');
    const cluster = join(dir, 'cluster');
    const up = spawnSync(join(ROOT, 'scripts/slurm-cluster.sh'), ['start', cluster], { encoding: 'utf8' });
    assert.equal(up.status, 0, `the one-node cluster did not start: ${up.stderr}`);
    const env = { ...process.env, SLURM_CONF: join(cluster, 'slurm.conf') };
    const slurm = (...args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', env });
    try {
      const stages = `  - { name: head, epochs: 3, lr: 1.0e-3 }\n  - { name: last, epochs: 3, unfreeze: ['layer3*'], lr: 1.0e-3 }\n`;
      const f = writeSchedule(dir, tinySchedule(512, stages), 'sweep.yaml');
      const sweep = (out: string, ...more: string[]) =>
        cli(['compare', '--schedules', f, '--seeds', '3', '--out', out, '--backend', 'wasm', ...more]);
      const sequential = sweep(join(dir, 'seq'), '--json');
      assert.equal(sequential.code, 0, sequential.stderr);
      const plan = join(dir, 'jobs.jsonl');
      assert.equal(sweep(join(dir, 'sweep'), '--plan', plan).code, 0);
      const run0 = join(dir, 'sweep', 'sweep-nall-seed1');

      const submitted = spawn(join(ROOT, 'scripts/slurm-sweep.sh'), [plan, '2'], { env });
      let stdout = '';
      submitted.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const finished = new Promise<number | null>((res) => submitted.on('close', res));

      // preempt task 0 once it has trained an epoch (its log's name carries the array's job id)
      await until('task 0 to train an epoch', () => (epochsIn(run0) >= 1 ? true : undefined));
      const log = readdirSync(dir).find((n) => /^slurm-\d+_0\.log$/.test(n))!;
      const task = log.replace(/^slurm-(\d+_0)\.log$/, '$1');
      const requeue = slurm('scontrol', 'requeue', task);
      assert.equal(requeue.status, 0, requeue.stderr);
      // Slurm holds a requeued task back ~2 minutes; let it start as soon as it is pending again
      await until('the requeued task to be pending', () =>
        /JobState=PENDING/.test(slurm('scontrol', 'show', 'job', task).stdout) ? true : undefined,
      );
      slurm('scontrol', 'update', `JobId=${task}`, 'StartTime=now');
      assert.equal(await finished, 0, `the sweep did not finish: ${readFileSync(join(dir, log), 'utf8')}`);

      const text = readFileSync(join(dir, log), 'utf8');
      assert.match(text, /starts in/);
      assert.match(text, /CANCELLED .* DUE TO JOB REQUEUE/);
      assert.match(text, /resumes/, 'the requeued task continued the checkpointed run');
      assert.match(text, /interrupted; continue with/, 'SIGTERM finished the batch and checkpointed (exit 130)');
      const starts = readFileSync(join(run0, 'events.ndjson'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"run-start"'))
        .map((l) => (JSON.parse(l) as { resumedFrom?: { epoch: number } }).resumedFrom);
      assert.equal(starts.length, 2);
      assert.ok(starts[1] && starts[1].epoch >= 1, 'the requeued task resumed from a checkpoint, not from scratch');
      const table = (s: string) =>
        (
          JSON.parse(s) as { runs: { seed: number; status: string; bestValAcc: number; bestValLoss: number }[] }
        ).runs.map(({ seed, status, bestValAcc, bestValLoss }) => ({ seed, status, bestValAcc, bestValLoss }));
      assert.match(stdout, /best val acc/);
      const collected = cli(['compare', '--collect', '--plan', plan, '--json']);
      assert.equal(collected.code, 0, collected.stderr);
      assert.deepEqual(table(collected.stdout), table(sequential.stdout));
    } finally {
      spawnSync(join(ROOT, 'scripts/slurm-cluster.sh'), ['stop', cluster]);
    }
  },
);
