// `freezeflow compare`: run several schedules on several training-set sizes and seeds (each run its own
// process, so any job runner can spread them), then tabulate which strategy wins at which size.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { writeAtomic } from '../core/files.js';
import { readSummary } from '../core/summary.js';
import { RUN_FILES } from '../core/run-files.js';
import { commandLine, jobsOf, readJobs, trainArgs, writeJobs } from './jobs.js';
import { writeIndexedJob } from './k8s.js';
import { lineChart } from '../report/chart.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { readScheduleFile } from '../schedule/load.js';
import { defaultThreads } from '../backend/wasm-threads.js';
import { threadsSetting } from './threads.js';

export interface CompareOptions {
  schedules: string[];
  /** As commander checked them (src/cli/args.ts). */
  samples?: number[];
  seeds?: number;
  jobs?: number;
  out?: string;
  dryRun?: boolean;
  json?: boolean;
  backend?: string;
  /** Write the job list (one JSON line per run) instead of running; with --collect, read it. */
  plan?: string;
  /** Run nothing: tabulate the runs that have finished under --out (or those of --plan's list). */
  collect?: boolean;
  /** With --plan: also write a Kubernetes Indexed Job for the list. */
  k8s?: string;
  image?: string;
  claim?: string;
}

interface Cell {
  schedule: string;
  file: string;
  samples?: number;
  seed: number;
  dir: string;
  backend?: string;
}

export interface CellResult {
  schedule: string;
  samples?: number;
  seed: number;
  status: string;
  bestValAcc: number;
  bestValLoss: number;
  epochs: number;
  seconds: number;
  /** val loss − train loss at the last epoch: how far the model overfits. */
  gap: number;
  trainSamples?: number;
}

function runCell(c: Cell, threads: number | undefined): Promise<number> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(packageRoot(), 'bin/freezeflow'), ...trainArgs(c)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: threads === undefined ? process.env : { ...process.env, FREEZEFLOW_THREADS: String(threads) },
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      if (code !== 0)
        process.stderr.write(`compare: ${basename(c.dir)} failed (exit ${code}): ${err.trim().split('\n').at(-1)}\n`);
      res(code ?? 1);
    });
  });
}

/** Read one cell from its run directory's summary (never a half-written run: summary.json is atomic). */
export function readCell(c: Pick<Cell, 'schedule' | 'samples' | 'seed' | 'dir'>): CellResult {
  const base = { schedule: c.schedule, samples: c.samples, seed: c.seed };
  const s = readSummary(c.dir);
  if (!s) return { ...base, status: 'missing', bestValAcc: NaN, bestValLoss: NaN, epochs: 0, seconds: NaN, gap: NaN };
  const h = s.history;
  return {
    ...base,
    status: s.status,
    bestValAcc: Math.max(...h.map((r) => r.valAcc)),
    bestValLoss: Math.min(...h.map((r) => r.valLoss)),
    epochs: h.length,
    seconds: s.seconds,
    gap: s.trainValGap,
    trainSamples: s.data.train,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

export interface CompareRow {
  schedule: string;
  samples?: number;
  runs: number;
  bestValAcc: { mean: number; sd: number };
  bestValLoss: number;
  epochs: number;
  seconds: number;
  gap: number;
  best: boolean;
}

/** Mean over seeds per (schedule, size), and the best schedule (highest mean best val acc) per size. */
export function aggregate(cells: readonly CellResult[]): CompareRow[] {
  const key = (c: { schedule: string; samples?: number }) => `${c.samples ?? 'all'}\u0000${c.schedule}`;
  const groups = new Map<string, CellResult[]>();
  for (const c of cells)
    if (c.status === 'completed' || c.status === 'stopped') groups.set(key(c), [...(groups.get(key(c)) ?? []), c]);
  const rows: CompareRow[] = [...groups.values()].map((g) => ({
    schedule: g[0]!.schedule,
    samples: g[0]!.samples,
    runs: g.length,
    bestValAcc: { mean: mean(g.map((c) => c.bestValAcc)), sd: sd(g.map((c) => c.bestValAcc)) },
    bestValLoss: mean(g.map((c) => c.bestValLoss)),
    epochs: mean(g.map((c) => c.epochs)),
    seconds: mean(g.map((c) => c.seconds)),
    gap: mean(g.map((c) => c.gap)),
    best: false,
  }));
  const sizes = [...new Set(rows.map((r) => r.samples))];
  for (const n of sizes) {
    const at = rows.filter((r) => r.samples === n);
    const top = Math.max(...at.map((r) => r.bestValAcc.mean));
    for (const r of at) r.best = r.bestValAcc.mean === top;
  }
  return rows.sort((a, b) => (a.samples ?? Infinity) - (b.samples ?? Infinity) || a.schedule.localeCompare(b.schedule));
}

export function formatCompare(rows: readonly CompareRow[]): string {
  const head = `${'samples'.padEnd(8)}${'schedule'.padEnd(22)}${'best val acc'.padStart(16)}${'val loss'.padStart(10)}${'epochs'.padStart(8)}${'seconds'.padStart(9)}${'gap'.padStart(8)}`;
  const lines = [head];
  for (const r of rows)
    lines.push(
      `${String(r.samples ?? 'all').padEnd(8)}${r.schedule.padEnd(22)}${`${(r.bestValAcc.mean * 100).toFixed(2)} ± ${(r.bestValAcc.sd * 100).toFixed(2)}`.padStart(16)}${r.bestValLoss.toFixed(4).padStart(10)}${r.epochs.toFixed(0).padStart(8)}${r.seconds.toFixed(0).padStart(9)}${r.gap.toFixed(3).padStart(8)}${r.best ? '  ← best' : ''}`,
    );
  return lines.join('\n');
}

function compareHtml(rows: readonly CompareRow[]): string {
  const schedules = [...new Set(rows.map((r) => r.schedule))];
  const sizes = [...new Set(rows.map((r) => r.samples ?? 0))];
  const chart = lineChart(
    'compare',
    'Best validation accuracy by training-set size',
    schedules.map((s) => ({
      name: s,
      points: rows.filter((r) => r.schedule === s).map((r) => [sizes.indexOf(r.samples ?? 0) + 1, r.bestValAcc.mean]),
    })),
    sizes.map((n, i) => ({ x: i + 1, label: `${n || 'all'} samples`, kind: 'stage' as const })),
    { xLabel: 'training-set size (one column per size, marked)' },
  );
  const tr = rows
    .map(
      (r) =>
        `<tr${r.best ? ' class="best"' : ''}><td>${r.samples ?? 'all'}</td><td>${r.schedule}</td><td>${(r.bestValAcc.mean * 100).toFixed(2)} ± ${(r.bestValAcc.sd * 100).toFixed(2)} %</td><td>${r.bestValLoss.toFixed(4)}</td><td>${r.epochs.toFixed(0)}</td><td>${r.seconds.toFixed(0)}</td><td>${r.gap.toFixed(3)}</td><td>${r.runs}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>freezeflow compare</title>
<style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px}.best{background:#e8f5e9;font-weight:bold}</style>
</head><body><h1>freezeflow compare</h1>
<table><tr><th>samples</th><th>schedule</th><th>best val acc (mean ± sd)</th><th>best val loss</th><th>epochs</th><th>seconds</th><th>val−train loss gap</th><th>runs</th></tr>${tr}</table>
${chart}
</body></html>
`;
}

/** One cell per schedule × size × seed, each schedule validated before anything runs. */
function cellsOf(opts: CompareOptions, out: string): Cell[] {
  const cells: Cell[] = [];
  for (const f of opts.schedules) {
    const name = readScheduleFile(f).name;
    for (const n of opts.samples ?? [undefined])
      for (let k = 1; k <= (opts.seeds ?? 1); k++)
        cells.push({
          schedule: name,
          file: resolve(f),
          samples: n,
          seed: k,
          dir: join(out, `${name}-n${n ?? 'all'}-seed${k}`),
          backend: opts.backend,
        });
  }
  return cells;
}

const cellsOfPlan = (plan: string): Cell[] => readJobs(plan).map((j) => ({ ...j, dir: j.runDir }));

function writePlan(opts: CompareOptions & { plan: string }, cells: readonly Cell[]): number {
  if ((opts.image || opts.claim) && !opts.k8s)
    throw new UserError('--image and --claim go with --k8s FILE', EXIT_USAGE);
  if (opts.k8s && !opts.image)
    throw new UserError('--k8s needs --image (an image with freezeflow on PATH)', EXIT_USAGE);
  const jobs = jobsOf(cells, threadsSetting());
  writeJobs(resolve(opts.plan), jobs);
  process.stderr.write(
    `compare: ${jobs.length} jobs in ${opts.plan}; run one with: freezeflow run-job --plan ${opts.plan} --index N\n`,
  );
  if (opts.k8s) {
    const k8s = {
      plan: opts.plan,
      image: opts.image!,
      claim: opts.claim ?? 'freezeflow-sweep',
      parallelism: opts.jobs ?? 1,
    };
    const mount = writeIndexedJob(opts.k8s, jobs, k8s);
    process.stderr.write(`compare: Kubernetes Indexed Job in ${opts.k8s} (claim ${k8s.claim} mounted at ${mount})\n`);
  }
  return EXIT_OK;
}

export async function runCompare(opts: CompareOptions): Promise<number> {
  const fromPlan = opts.collect && opts.plan !== undefined && opts.schedules.length === 0;
  if (opts.schedules.length === 0 && !fromPlan)
    throw new UserError('give --schedules A.yaml B.yaml … (or --collect --plan jobs.jsonl)', EXIT_USAGE);
  if (opts.collect && !opts.out && !fromPlan)
    throw new UserError('--collect needs the --out folder of the sweep (or its --plan list)', EXIT_USAGE);
  const planned = fromPlan ? cellsOfPlan(opts.plan!) : undefined;
  const out = resolve(
    opts.out ??
      (planned?.[0]
        ? dirname(planned[0].dir)
        : join('runs', `compare-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`)),
  );
  const cells = planned ?? cellsOf(opts, out);
  const jobs = opts.jobs ?? 1;
  // runs at once share the cores (FREEZEFLOW_THREADS, if set, is each run's own; one at a time, each
  // run picks its default)
  const threads = threadsSetting() ?? (jobs > 1 ? Math.max(1, Math.floor(defaultThreads() / jobs)) : undefined);
  if (opts.dryRun) {
    // for other job runners: one command per line, each an independent process, with the same share of
    // the cores as compare itself would give it at --jobs
    for (const c of cells) process.stdout.write(`${commandLine(trainArgs(c, threads))}\n`);
    return EXIT_OK;
  }
  if (opts.plan && !opts.collect) return writePlan({ ...opts, plan: opts.plan }, cells);
  mkdirSync(out, { recursive: true });
  // finished cells are kept: a compare can be re-run to fill in what failed or was spread elsewhere;
  // --collect runs nothing and tabulates what has finished
  const todo = opts.collect ? [] : cells.filter((c) => readCell(c).status !== 'completed');
  process.stderr.write(
    opts.collect
      ? `compare: collecting ${cells.length} runs in ${out}\n`
      : `compare: ${cells.length} runs (${cells.length - todo.length} already done), ${jobs} at a time, in ${out}\n`,
  );
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, todo.length) }, async () => {
      while (next < todo.length) {
        const c = todo[next++]!;
        // a cell that failed or was interrupted starts over; its folder is freezeflow's own (marked)
        if (existsSync(join(c.dir, RUN_FILES.marker))) rmSync(c.dir, { recursive: true, force: true });
        const code = await runCell(c, threads);
        if (code !== 0) failed++;
        else process.stderr.write(`compare: done ${basename(c.dir)}\n`);
      }
    }),
  );
  const results = cells.map(readCell);
  const unfinished = results.filter((x) => x.status !== 'completed' && x.status !== 'stopped');
  for (const r of unfinished)
    process.stderr.write(`compare: ${r.schedule} samples ${r.samples ?? 'all'} seed ${r.seed}: ${r.status}\n`);
  const rows = aggregate(results);
  writeAtomic(join(out, 'compare.json'), `${JSON.stringify({ rows, runs: results }, null, 2)}\n`);
  writeAtomic(join(out, 'compare.html'), compareHtml(rows));
  process.stdout.write(opts.json ? `${JSON.stringify({ rows, runs: results })}\n` : `${formatCompare(rows)}\n`);
  process.stderr.write(`compare: wrote ${join(out, 'compare.json')} and compare.html\n`);
  // a collect fails when a run has not finished, so a script can tell a whole sweep from part of one
  return failed > 0 || (opts.collect && unfinished.length > 0) ? EXIT_FAILURE : EXIT_OK;
}
