// Sweeps on job engines people already run: `compare --plan` writes one JSON line per run (a stable id,
// the exact command, its run folder); `run-job` runs one of them by index (Slurm arrays, Kubernetes
// Indexed Jobs, GNU parallel) and is safe to retry: a finished run exits 0 at once, an interrupted one
// resumes, and the run folder's lock keeps two workers on one index apart.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { writeAtomic } from '../core/files.js';
import { RUN_FILES } from '../core/run-files.js';
import { readSummary } from '../core/summary.js';
import { packageRoot } from '../core/paths.js';

export interface Job {
  /** Hash of the schedule's content and the overrides: the same sweep planned again gives the same ids. */
  id: string;
  index: number;
  schedule: string;
  file: string;
  samples?: number;
  seed: number;
  backend?: string;
  threads?: number;
  runDir: string;
  /** The command, shell-quoted, runnable without freezeflow on PATH. */
  command: string;
}

export interface JobSpec {
  schedule: string;
  file: string;
  samples?: number;
  seed: number;
  backend?: string;
  dir: string;
}

export function trainArgs(c: Omit<JobSpec, 'schedule'>, threads?: number): string[] {
  return [
    'train',
    '-s',
    c.file,
    '--out',
    c.dir,
    '--quiet',
    '--seed',
    String(c.seed),
    ...(c.samples ? ['--samples', String(c.samples)] : []),
    ...(c.backend ? ['--backend', c.backend] : []),
    ...(threads ? ['--threads', String(threads)] : []),
  ];
}

/** One argument for a POSIX shell: bare when it is plainly safe, else in single quotes. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

export const commandLine = (args: string[]): string =>
  [process.execPath, join(packageRoot(), 'bin/freezeflow'), ...args].map(shellQuote).join(' ');

export function jobsOf(cells: readonly JobSpec[], threads?: number): Job[] {
  return cells.map((c, index) => {
    const overrides = { samples: c.samples, seed: c.seed, backend: c.backend, threads };
    const id = createHash('sha256')
      .update(readFileSync(c.file))
      .update(JSON.stringify(overrides))
      .digest('hex')
      .slice(0, 12);
    return { id, index, ...c, ...overrides, runDir: c.dir, command: commandLine(trainArgs(c, threads)) };
  });
}

export function writeJobs(file: string, jobs: readonly Job[]): void {
  writeAtomic(file, jobs.map((j) => `${JSON.stringify(j)}\n`).join(''));
}

export function readJobs(file: string): Job[] {
  if (!existsSync(file)) throw new UserError(`no job list at ${file} (make one with compare --plan)`, EXIT_USAGE);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Job;
      } catch {
        throw new UserError(`${file}:${i + 1}: not a job line (damaged job list)`, EXIT_USAGE);
      }
    });
}

/** The job's index: --index, else the engine's (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX). */
function jobIndex(flag: number | undefined): number {
  if (flag !== undefined) return flag;
  for (const v of ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX']) {
    const s = process.env[v];
    if (s !== undefined && /^\d+$/.test(s)) return Number(s);
  }
  throw new UserError(
    'give --index N (or run under a Slurm array, SLURM_ARRAY_TASK_ID, or a Kubernetes Indexed Job, JOB_COMPLETION_INDEX)',
    EXIT_USAGE,
  );
}

/** Exit codes for the engine's retry logic: 0 done, 1 failed, 2 bad job, 130 interrupted. */
export async function runJob(opts: { plan: string; index?: number }): Promise<number> {
  const jobs = readJobs(opts.plan);
  const index = jobIndex(opts.index);
  const job = jobs[index];
  if (!job)
    throw new UserError(
      `job ${index} is not in ${opts.plan} (it has ${jobs.length}: 0–${jobs.length - 1})`,
      EXIT_USAGE,
    );
  const done = readSummary(job.runDir);
  if (done && (done.status === 'completed' || done.status === 'stopped')) {
    process.stderr.write(`run-job: job ${index} (${job.id}) already finished in ${job.runDir}\n`);
    return EXIT_OK;
  }
  const { runTrain } = await import('./train.js');
  // an earlier attempt left a run there (killed, preempted, failed): continue it
  if (existsSync(join(job.runDir, RUN_FILES.marker))) {
    process.stderr.write(`run-job: job ${index} (${job.id}) resumes ${job.runDir}\n`);
    return runTrain({ resume: job.runDir, quiet: true, threads: job.threads });
  }
  process.stderr.write(`run-job: job ${index} (${job.id}) starts in ${job.runDir}\n`);
  return runTrain({
    schedule: job.file,
    out: job.runDir,
    quiet: true,
    seed: job.seed,
    samples: job.samples,
    backend: job.backend as never,
    threads: job.threads,
  });
}
