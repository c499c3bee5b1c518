// `npm run bench`: training speed side by side in one run. freezeflow's runner on its default backend in
// three regimes (head only, last block + head, everything), a 5-epoch head-only stage with and without
// feature caching, stock tfjs model.fit on the cpu backend, and PyTorch on the same network when
// /usr/bin/python3 can import torch. Prints a table and writes bench-results.json.
//   --backend B       the backend for freezeflow's rows (default auto)
//   --regimes-only    only the three regimes (resnet-mini, and MobileNetV2 when present): what
//                     scripts/gpu-check.sh compares across backends
//   --images-only     only the image-folder memory check (peak RSS with 1,000 vs 3,000 images)
//   --threads N       wasm threads for freezeflow's rows (default: freezeflow's default for the 28×28
//                     digits, at most 2); on 1 thread the full run repeats the regimes and MobileNetV2 on
//                     every core in a child process and prints the speed-up
//   --photos-only     only the photos walkthrough row (before #19 vs now, held-out accuracy)
//   --main-job-only   only the main job (schedules/progressive.yaml) against PyTorch's time for it
//   --mobilenet-batch B[,B…]  MobileNetV2 batch sizes (default 16; GPUs: 32,64)
//   --adapters-only   only LoRA against unfreezing the same layers (resnet-mini; MobileNetV2 when present):
//                     trainable parameters, samples/s and peak RSS, each regime in its own process
//   --torchvision-only  imported torchvision resnet18, mobilenet_v3_small and efficientnet_b0 (160×160,
//                     batch 32) in three regimes against PyTorch on the same network: samples/s and peak
//                     RSS, each cell in its own process (needs /usr/bin/python3 with torch and torchvision)
//   --profile [SOURCE] [--regime head|last]  where an every-layer (cached head-only, cached last-block) step's time goes: freezeflow's kernels (SIMD,
//                     composed, on the heap), XNNPACK, other tfjs kernels, and JavaScript between kernels;
//                     SOURCE a model (synthetic images of its input size, --batch B, default 32) or, by
//                     default, resnet-mini on the digits at batch 64
//   --memory-only     MobileNetV2 every layer at batch 32: peak RSS beside PyTorch's, and with tfjs' own
//                     backward pass (FREEZEFLOW_LEAN_BACKPROP=0)
//   --threads N, --pool N  wasm threads, and XNNPACK's pool among them (defaults: freezeflow's own)
//   --out FILE        where the JSON goes
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { initBackend, type BackendChoice } from '../src/backend/index.js';
import { loadModel } from '../src/model/io.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { listLayers } from '../src/model/layers.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan, resolvePlan } from '../src/schedule/plan.js';
import { BUILTIN_SHAPE, loadBuiltinDataset } from '../src/data/mnist.js';
import { memorySource, split, subset, type Dataset } from '../src/data/dataset.js';
import { EventBus } from '../src/core/events.js';
import { runStages } from '../src/train/runner.js';
import { packageRoot } from '../src/core/paths.js';
import { defaultThreads, xnnpackPool } from '../src/backend/wasm-threads.js';
import { kernelCategory, profileWasmKernels } from '../src/backend/kernel-profile.js';

const ROOT = packageRoot();
const SHARED = join(ROOT, '../shared/models/tm-nail-biting/model.json');
const rssMB = () => process.resourceUsage().maxRSS / 1024;

interface Regime {
  name: 'head' | 'partial' | 'full' | 'lora';
  unfreeze: string[];
  /** More YAML keys for the stage (adapters). */
  extra?: string;
}

/** `n` images of `shape` (a fixed smooth pattern) in two alternating classes: speed needs no real pixels. */
function syntheticImages(n: number, shape: [number, number, number]): Dataset {
  return {
    classes: ['a', 'b'],
    x: Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, (_, i) => Math.sin(i * 0.37)),
    y: Int32Array.from({ length: n }, (_, i) => i % 2),
    shape,
  };
}

async function fineTuneModel(source: string, classes: number): Promise<tf.LayersModel> {
  return attachHead(cutModel(await loadModel(source)), [{ dense: { units: 'auto', activation: 'softmax' } }], classes);
}

/** Samples/s of freezeflow's training loop (batch-end timestamps, first batch excluded as warm-up). */
async function runnerSpeed(
  source: string,
  data: Dataset,
  r: Regime,
  batch: number,
  cache: boolean,
  epochs = 1,
  telemetry = true,
  accumulate = 1,
  onBatchEnd?: (batch: number) => void,
): Promise<{ samplesPerSec: number; stageSeconds: number; trainableParams: number }> {
  const model = await fineTuneModel(source, data.classes.length);
  const plan = buildPlan(
    parseSchedule(`model: { source: x }
data: { source: y, batchSize: ${batch}, shuffle: false }
training: { cacheFeatures: ${cache}, telemetry: ${telemetry}, accumulate: ${accumulate} }
stages:
  - { name: ${r.name}, epochs: ${epochs}, lr: 0.001, optimizer: adam${r.unfreeze.length ? `, unfreeze: ${JSON.stringify(r.unfreeze)}` : ''}${r.extra ? `, ${r.extra}` : ''} }
`).schedule,
    'bench',
  );
  // (batch number, time) of each reading: on GPU backends readings come every few batches, not each one
  const marks: [number, number][] = [];
  const bus = new EventBus();
  bus.on((e) => {
    if (e.type !== 'batch-end') return;
    marks.push([e.batch, performance.now()]);
    onBatchEnd?.(e.batch);
  });
  const tiny = subset(data, [0]);
  const t0 = performance.now();
  const resolved = resolvePlan(plan, listLayers(model));
  await runStages({
    plan,
    resolved,
    model,
    data: { train: memorySource(data), val: memorySource(tiny) },
    bus,
    runDir: '',
  });
  const stageSeconds = (performance.now() - t0) / 1000;
  model.dispose();
  const [[b0, t0b], [b1, t1b]] = [marks[0]!, marks.at(-1)!];
  // the first reading (compilation, warm-up) is excluded
  const trainableParams = resolved[0]!.trainableParams;
  return { samplesPerSec: ((b1 - b0) * batch) / ((t1b - t0b) / 1000), stageSeconds, trainableParams };
}

/**
 * What per-layer telemetry (on by default) costs on the default task: stages over its 3,894 training
 * digits with it on and off, alternating, the fastest of three tries kept. The rate runs from the first
 * batch to the last over all epochs, so the once-per-epoch work (reading the weights) is in it, and the
 * feature cache's build is not.
 */
async function telemetryCost(data: Dataset, regimes: Regime[], batch: number) {
  const cost: Record<string, number> = {};
  for (const [name, r, cache, epochs] of [
    ['head+cache', regimes[0]!, true, 5],
    ['partial+cache', regimes[1]!, true, 1],
    ['full', regimes[2]!, false, 1],
  ] as const) {
    const speed = { on: 0, off: 0 };
    for (let k = 0; k < 3; k++)
      for (const on of [true, false]) {
        const s = (await runnerSpeed('builtin:resnet-mini', data, r, batch, cache, epochs, on)).samplesPerSec;
        speed[on ? 'on' : 'off'] = Math.max(speed[on ? 'on' : 'off'], s);
      }
    cost[name] = speed.off / speed.on - 1;
  }
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const line = `per-layer telemetry on the default task's training set, extra time per step (off/on rate − 1, same run): ${Object.entries(
    cost,
  )
    .map(([k, v]) => `${k} ${pct(v)}`)
    .join(', ')} — goal < 5 %`;
  return { cost, line };
}

/** Stock tfjs: model.fit on the cpu backend, everything trainable (a few batches). */
async function stockCpuFull(data: Dataset, batch: number, batches: number): Promise<number> {
  await tf.setBackend('cpu');
  const model = await fineTuneModel('builtin:resnet-mini', data.classes.length);
  model.layers.forEach((l) => (l.trainable = true));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const n = batch * batches;
  const x = tf.tensor4d(data.x.subarray(0, n * 784), [n, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(data.y.subarray(0, n), 'int32'), data.classes.length);
  // no warm-up: one cpu step takes tens of seconds, JIT warm-up is noise next to it
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: batch, epochs: 1, verbose: 0 });
  const s = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  model.dispose();
  return n / s;
}

function pytorch(
  batch: number,
  samples: number,
): Record<string, { samplesPerSec?: number; seconds?: number }> | string {
  const py = '/usr/bin/python3';
  if (!existsSync(py)) return 'no /usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'torch is not importable by /usr/bin/python3 (apt-get install python3-torch)';
  const r = spawnSync(py, [join(ROOT, 'bench/torch_bench.py'), String(batch), String(samples)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) return `the PyTorch script failed: ${r.stderr.trim().split('\n').at(-1)}`;
  return JSON.parse(r.stdout) as Record<string, { samplesPerSec?: number; seconds?: number }>;
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The regimes, the cached 5-epoch head stage and MobileNetV2 with `threads` wasm threads, in a child. */
function threadsRun(threads: number): Record<string, unknown> | string {
  const out = join(tmpdir(), `freezeflow-bench-threads-${process.pid}.json`);
  const r = spawnSync(
    process.execPath,
    [process.argv[1]!, '--threads-child', '--backend', 'wasm', '--threads', String(threads), '--out', out],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (r.status !== 0) return `the ${threads}-thread run failed: ${r.stderr.trim().split('\n').at(-1)}`;
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
}

async function main(): Promise<void> {
  // freezeflow's own defaults for the 28×28 digits (2 threads, XNNPACK's pool 1) unless another network
  // runs (a torchvision cell, --profile SOURCE); the child run measures every core
  const has = (flag: string) => process.argv.includes(flag);
  const threadsArg = arg('--threads');
  const other = arg('--tv-child') || has('--mobilenet-child') || has('--memory-child') || profileSource();
  const pixels = other ? undefined : BUILTIN_SHAPE[0] * BUILTIN_SHAPE[1];
  const threads = threadsArg === undefined ? defaultThreads(pixels) : Number(threadsArg);
  const backend = await initBackend((arg('--backend') ?? 'auto') as BackendChoice, {
    threads,
    pool: arg('--pool') === undefined ? xnnpackPool(threads, pixels) : Number(arg('--pool')),
  });
  const regimesOnly = process.argv.includes('--regimes-only') || process.argv.includes('--threads-child');
  if (arg('--image-pass')) {
    process.stdout.write(`${await imagePass(Number(arg('--image-pass')))}\n`);
    return;
  }
  const mode = { backend: backend.name, threads: backend.threads };
  const machine = { backend: backend.name, cores: cpus().length };
  if (has('--photos-only') || has('--main-job-only'))
    return only('bench-photos.json', machine, (results, lines) =>
      has('--main-job-only') ? mainJob(results, lines, backend.name) : photosRow(results, lines, backend.name),
    );
  if (arg('--adapter-child')) return printJson(await adapterChild(arg('--adapter-child')!));
  if (has('--adapters-only')) return only('bench-adapters.json', mode, adapterRows);
  if (arg('--tv-child')) return printJson(await torchvisionChild(arg('--tv-child')!));
  if (has('--memory-child')) return printJson(await memoryChild());
  if (has('--memory-only')) return only('bench-memory.json', machine, memoryRows);
  if (has('--mobilenet-child')) {
    const [results, lines]: [Record<string, unknown>, string[]] = [{}, []];
    await mobilenet(results, lines);
    return printJson({ results, lines });
  }
  if (has('--profile')) return only('bench-profile.json', mode, profileRows);
  if (has('--torchvision-only')) return only('bench-torchvision.json', machine, torchvisionRows);
  if (has('--images-only')) return only('bench-images.json', {}, imageFolderMemory);
  const outFile = arg('--out') ?? 'bench-results.json';
  const batch = 64;
  const all = loadBuiltinDataset('mnist-5-9');
  const data = split(all, 0.2, 42).train; // the default task's training set (3,894 digits)
  const sample = subset(
    data,
    Array.from({ length: 12 * batch }, (_, i) => i),
  );
  const regimes: Regime[] = [
    { name: 'head', unfreeze: [] },
    { name: 'partial', unfreeze: ['layer3*'] },
    { name: 'full', unfreeze: ['*'] },
  ];
  const results: Record<string, unknown> = {
    backend: backend.name,
    batch,
    cores: cpus().length,
    device: backend.device,
  };
  const ours: Record<string, number> = {};
  process.stderr.write(
    `bench: freezeflow on ${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ''}, resnet-mini, batch ${batch}\n`,
  );
  for (const r of regimes) {
    ours[r.name] = (await runnerSpeed('builtin:resnet-mini', sample, r, batch, false)).samplesPerSec;
    ours[`${r.name}-rss`] = rssMB();
  }
  ours['head-cached'] = (await runnerSpeed('builtin:resnet-mini', sample, regimes[0]!, batch, true)).samplesPerSec;
  // freezeflow's default for a last-block stage: layer2's outputs cached, only layer3 + head run
  ours['partial-cached'] = (await runnerSpeed('builtin:resnet-mini', sample, regimes[1]!, batch, true)).samplesPerSec;
  results['freezeflow'] = ours;
  results['threads'] = backend.threads;
  const lines: string[] = [];
  if (process.argv.includes('--threads-child')) {
    ours['headStage5EpochsCached'] = (
      await runnerSpeed('builtin:resnet-mini', data, regimes[0]!, batch, true, 5)
    ).stageSeconds;
    mobilenetInChild(results, lines, backend.name);
    finish(results, lines, outFile);
    return;
  }
  const telemetry = await telemetryCost(data, regimes, batch);
  results['telemetryCost'] = telemetry.cost;
  if (regimesOnly) {
    lines.push(telemetry.line);
    lines.push(
      `resnet-mini, batch ${batch}, backend ${backend.name}${backend.device ? ` (${backend.device})` : ''}: head ${fmt(ours['head'])}, head+cache ${fmt(ours['head-cached'])}, partial ${fmt(ours['partial'])}, full ${fmt(ours['full'])} samples/s`,
    );
    mobilenetInChild(results, lines, backend.name);
    finish(results, lines, outFile);
    return;
  }
  process.stderr.write('bench: 5-epoch head-only stage on 3,894 digits, with and without feature caching\n');
  const stageCached = (await runnerSpeed('builtin:resnet-mini', data, regimes[0]!, batch, true, 5)).stageSeconds;
  const stagePlain = (await runnerSpeed('builtin:resnet-mini', data, regimes[0]!, batch, false, 5)).stageSeconds;
  process.stderr.write('bench: stock tfjs model.fit on the cpu backend (one batch of 8)\n');
  const stock = await stockCpuFull(data, 8, 1);
  await initBackend(backend.name);
  process.stderr.write('bench: PyTorch, same network, 2 threads\n');
  const torch = pytorch(batch, 3894);
  const t = typeof torch === 'string' ? undefined : torch;
  const tps = (k: string) => t?.[k]?.samplesPerSec;

  const rows: [string, number | undefined, number | undefined, string][] = [
    ['head only (no cache)', ours['head'], tps('head'), ''],
    ['head only (feature cache)', ours['head-cached'], tps('head'), ''],
    ['partial: layer3 + head', ours['partial'], tps('partial'), 'target ≥ 1.0× PyTorch'],
    ['partial (feature cache)', ours['partial-cached'], tps('partial'), 'freezeflow default'],
    [
      'full',
      ours['full'],
      tps('full'),
      `target ≥ 0.5× PyTorch; ${fmt(ours['full']! / stock, 0)}× stock tfjs cpu (target ≥ 100×)`,
    ],
  ];
  lines.push(
    `resnet-mini, batch ${batch}, backend ${backend.name}; PyTorch: ${typeof torch === 'string' ? torch : `${t!['torch']} (${t!['threads']} threads)`}`,
    '',
    `${'regime'.padEnd(28)}${'freezeflow'.padStart(12)}${'PyTorch'.padStart(10)}${'ratio'.padStart(8)}  samples/s`,
  );
  for (const [name, a, b, note] of rows)
    lines.push(
      `${name.padEnd(28)}${fmt(a).padStart(12)}${fmt(b).padStart(10)}${fmt(a !== undefined && b ? a / b : NaN, 2).padStart(8)}  ${note}`,
    );
  const torchStage = t?.['headStage5Epochs']?.seconds;
  lines.push(
    '',
    `5-epoch head-only stage (3,894 digits): freezeflow ${fmt(stageCached)} s with feature cache, ${fmt(stagePlain)} s without; PyTorch ${fmt(torchStage)} s; ratio ${fmt(torchStage ? stageCached / torchStage : NaN, 2)} (target ≤ 0.5)`,
    `stock tfjs model.fit, cpu backend, full: ${fmt(stock, 2)} samples/s`,
    `peak RSS: ${fmt(rssMB(), 0)} MB`,
    telemetry.line,
  );
  Object.assign(results, {
    headStage5Epochs: { cachedSeconds: stageCached, uncachedSeconds: stagePlain },
    stockTfjsCpuFull: stock,
    pytorch: torch,
    peakRssMB: rssMB(),
  });

  mobilenetInChild(results, lines, backend.name);
  const cores = defaultThreads();
  if (backend.name === 'wasm' && backend.threads === 1 && cores > 1) {
    process.stderr.write(`bench: the same with ${cores} wasm threads (child process), for the threads speed-up\n`);
    const many = threadsRun(cores);
    results['allCores'] = many;
    if (typeof many === 'string') lines.push('', `threads: ${many}`);
    else {
      const ff = many['freezeflow'] as Record<string, number>;
      const mob = many['mobilenetv2'] as Record<string, number> | undefined;
      const mob1 = results['mobilenetv2'] as Record<string, number> | undefined;
      const ratio = (a: number | undefined, b: number | undefined) => fmt(a !== undefined && b ? a / b : NaN, 2);
      lines.push(
        '',
        `${cores} wasm threads vs 1 (samples/s ratio, same run): resnet-mini head ${ratio(ff['head'], ours['head'])}, head+cache ${ratio(ff['head-cached'], ours['head-cached'])}, partial ${ratio(ff['partial'], ours['partial'])}, partial+cache ${ratio(ff['partial-cached'], ours['partial-cached'])}, full ${ratio(ff['full'], ours['full'])}; 5-epoch cached head stage ${fmt(ff['headStage5EpochsCached'], 1)} s vs ${fmt(stageCached, 1)} s`,
        ...(mob && mob1
          ? [
              `MobileNetV2 224×224 with ${cores} threads: head ${fmt(mob['head'])}, partial ${fmt(mob['partial'])}, full ${fmt(mob['full'])} samples/s (${ratio(mob['head'], mob1['head'])}, ${ratio(mob['partial'], mob1['partial'])}, ${ratio(mob['full'], mob1['full'])}× of 1 thread)`,
            ]
          : []),
      );
    }
  }
  mainJob(results, lines, backend.name);
  await photosRow(results, lines, backend.name);
  imageFolderMemory(results, lines);
  lines.push('');
  adapterRows(results, lines);
  finish(results, lines, outFile);
}

/** One end-to-end run of the main job (its default threads) with `env` added; its seconds and summary. */
function runMainJob(backendName: string, env: Record<string, string>) {
  const out = join(tmpdir(), `freezeflow-bench-main-${process.pid}`);
  const args = [
    'train',
    '-s',
    join(ROOT, 'schedules/progressive.yaml'),
    '--out',
    out,
    '--quiet',
    '--backend',
    backendName,
  ];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/freezeflow'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const seconds = (performance.now() - t0) / 1000;
  const summary =
    r.status === 0
      ? (JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>)
      : undefined;
  spawnSync('rm', ['-rf', out]);
  const threads = (summary?.['backend'] as { threads?: number } | undefined)?.threads;
  return { seconds, threads, finalValAcc: summary?.['finalValAcc'], failed: r.status !== 0 && r.stderr };
}

/**
 * The main job end to end (npx freezeflow train -s schedules/progressive.yaml, its default threads)
 * against PyTorch's time for the same schedule (bench/torch_bench.py --main-job), one after the other.
 * On wasm it runs twice: with the SIMD kernels' relaxed-SIMD (FMA) build, the default where V8 has it,
 * and with the SIMD128 build (FREEZEFLOW_FMA=0, the rounding earlier versions had).
 */
function mainJob(results: Record<string, unknown>, lines: string[], backendName: string): void {
  process.stderr.write('bench: the main job (schedules/progressive.yaml), then PyTorch on the same schedule\n');
  const run = runMainJob(backendName, {});
  const simd128 = backendName === 'wasm' ? runMainJob(backendName, { FREEZEFLOW_FMA: '0' }) : undefined;
  const torch = spawnSync('/usr/bin/python3', [join(ROOT, 'bench/torch_bench.py'), '--main-job'], { encoding: 'utf8' });
  const torchSeconds =
    torch.status === 0 ? (JSON.parse(torch.stdout) as { mainJob: { seconds: number } }).mainJob.seconds : undefined;
  const { failed, ...measured } = run;
  results['mainJob'] = { ...measured, simd128Seconds: simd128?.seconds, torchSeconds };
  const vsTorch = (s: number) => fmt(torchSeconds ? torchSeconds / s : NaN, 2);
  lines.push(
    '',
    failed
      ? `main job: failed: ${failed.trim().split('\n').at(-1)}`
      : `main job (20 epochs, resnet-mini, ${backendName}, ${String(run.threads ?? '?')} thread(s)): ${fmt(run.seconds)} s end to end; PyTorch ${torchSeconds ? `${fmt(torchSeconds)} s (training and validation only)` : `not run (${torch.stderr.trim().split('\n').at(-1) ?? 'no torch'})`}; ratio ${vsTorch(run.seconds)} (goal ≥ 1.5)`,
  );
  if (simd128 && !failed)
    lines.push(
      `  SIMD128 kernels (FREEZEFLOW_FMA=0): ${simd128.failed ? 'failed' : `${fmt(simd128.seconds)} s, ratio ${vsTorch(simd128.seconds)}; FMA build ${fmt(simd128.seconds / run.seconds, 2)}× as fast`}`,
    );
}

/**
 * One pass over `n` generated 96×96 JPEGs with a 16 MB decode cache; returns the peak RSS in MB. Run in a
 * child process per size, so that one size's garbage does not count against the other.
 */
async function imagePass(n: number): Promise<number> {
  const sharp = (await import('sharp')).default;
  const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { describeData, openData } = await import('../src/data/open.js');
  const dir = mkdtempSync(join(tmpdir(), 'ff-bench-'));
  try {
    for (const c of ['a', 'b']) mkdirSync(join(dir, c), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(96 * 96 * 3, (i * 37) % 256);
      await sharp(px, { raw: { width: 96, height: 96, channels: 3 } })
        .jpeg()
        .toFile(join(dir, i % 2 ? 'a' : 'b', `${i}.jpg`));
    }
    const plan = buildPlan(
      parseSchedule(`model: { source: x }
data: { source: ${dir}, batchSize: 64, cacheMB: 16, validation: { split: 0.1 } }
stages: [{ name: a, epochs: 1 }]
`).schedule,
      'mem',
    );
    let peak = process.memoryUsage().rss;
    const d = await openData(plan, describeData(plan, join(dir, 'x.yaml')), [null, 96, 96, 3]);
    const total = d.train.labels.length;
    for (let epoch = 0; epoch < 2; epoch++)
      for (let s = 0; s < total; s += 64) {
        await d.train.batch(Array.from({ length: Math.min(64, total - s) }, (_, k) => s + k));
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    return peak / 2 ** 20;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Image folders larger than the decode cache: peak memory must not grow with the number of images. */
function imageFolderMemory(results: Record<string, unknown>, lines: string[]): void {
  const peaks: Record<string, number> = {};
  for (const n of [1000, 3000]) {
    const r = spawnSync(process.execPath, [process.argv[1]!, '--image-pass', String(n)], { encoding: 'utf8' });
    peaks[n] = Number(r.stdout.trim());
  }
  results['imageFolderPeakRssMB'] = peaks;
  lines.push(
    '',
    `image folder, 96×96 JPEGs (79 MB decoded at 3,000), 16 MB decode cache, two epochs: peak RSS ${fmt(peaks[1000], 0)} MB with 1,000 images, ${fmt(peaks[3000], 0)} MB with 3,000`,
  );
}

/** A mode that prints only its own rows: `rows` fills `results` and the lines, written to FILE (or --out). */
async function only(
  file: string,
  results: Record<string, unknown>,
  rows: (results: Record<string, unknown>, lines: string[]) => unknown,
): Promise<void> {
  const lines: string[] = [];
  await rows(results, lines);
  finish(results, lines, arg('--out') ?? file);
}

/** A child process's one line for its parent. */
const printJson = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);

/** What a child wrote with printJson (its last line), when it succeeded. */
function childJson<T>(r: ReturnType<typeof spawnSync>): T | undefined {
  return r.status === 0 ? (JSON.parse(String(r.stdout).trim().split('\n').at(-1)!) as T) : undefined;
}

function finish(results: Record<string, unknown>, lines: string[], outFile: string): void {
  process.stdout.write(`${lines.join('\n')}\n`);
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`bench: wrote ${outFile}\n`);
}

/** LoRA (rank 8) against unfreezing the same layers: resnet-mini's last stage convs, MobileNetV2's last 1×1 convs. */
const ADAPTER_CASES = {
  'resnet-mini': { layers: ['layer3_*_conv*'], batch: 64 },
  mobilenet: { layers: ['block_1[56]_expand', 'block_1[56]_project', 'Conv_1'], batch: 16 },
} as const;

/** One regime of one model in this process (so its peak RSS is its own): `MODEL:REGIME`. */
async function adapterChild(spec: string): Promise<Record<string, number>> {
  const [model, regime] = spec.split(':') as [keyof typeof ADAPTER_CASES, 'unfreeze' | 'lora'];
  const c = ADAPTER_CASES[model];
  const r: Regime =
    regime === 'lora'
      ? {
          name: 'lora',
          unfreeze: [],
          extra: `adapters: [{ type: lora, layers: ${JSON.stringify(c.layers)}, rank: 8 }]`,
        }
      : { name: 'partial', unfreeze: [...c.layers] };
  let source = 'builtin:resnet-mini';
  let data: Dataset;
  if (model === 'mobilenet') {
    source = SHARED;
    const n = 4 * c.batch;
    data = syntheticImages(n, [224, 224, 3]);
  } else {
    const digits = split(loadBuiltinDataset('mnist-5-9'), 0.2, 42).train;
    data = subset(
      digits,
      Array.from({ length: 12 * c.batch }, (_, i) => i),
    );
  }
  // caching off: both regimes run the same layers each step, so the rate compares their steps alone
  const s = await runnerSpeed(source, data, r, c.batch, false);
  return { samplesPerSec: s.samplesPerSec, trainableParams: s.trainableParams, peakRssMB: rssMB() };
}

/** Each (model, regime) in a child process, side by side: trainable parameters, samples/s, peak RSS. */
function adapterRows(results: Record<string, unknown>, lines: string[]): void {
  const models = (Object.keys(ADAPTER_CASES) as (keyof typeof ADAPTER_CASES)[]).filter(
    (m) => m !== 'mobilenet' || existsSync(SHARED),
  );
  lines.push('LoRA rank 8 against unfreezing the same layers (each in its own process; caching off):');
  for (const m of models) {
    const row: Record<string, Record<string, number>> = {};
    for (const regime of ['unfreeze', 'lora']) {
      const args = [process.argv[1]!, '--adapter-child', `${m}:${regime}`, '--backend', String(results['backend'])];
      const p = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`bench child ${m}:${regime} failed: ${p.stderr.slice(-500)}`);
      row[regime] = childJson<Record<string, number>>(p)!;
    }
    results[`adapters-${m}`] = row;
    const [u, l] = [row['unfreeze']!, row['lora']!];
    lines.push(
      `  ${m} (${ADAPTER_CASES[m].layers.join(', ')}, batch ${ADAPTER_CASES[m].batch}): trainable ${u['trainableParams']} → ${l['trainableParams']} (${fmt((100 * l['trainableParams']!) / u['trainableParams']!)} %), samples/s ${fmt(u['samplesPerSec'])} → ${fmt(l['samplesPerSec'])} (${fmt(l['samplesPerSec']! / u['samplesPerSec']!, 2)}×), peak RSS ${fmt(u['peakRssMB'], 0)} → ${fmt(l['peakRssMB'], 0)} MB`,
    );
  }
}

const MEMORY = { batch: 32, steps: 3 };

/** MobileNetV2 every layer at batch 32 in this process (#31 item 6): samples/s and peak RSS. */
async function memoryChild(): Promise<Record<string, number>> {
  const data = syntheticImages((MEMORY.steps + 1) * MEMORY.batch, [224, 224, 3]);
  const r = await runnerSpeed(SHARED, data, { name: 'full', unfreeze: ['*'] }, MEMORY.batch, false);
  return { samplesPerSec: r.samplesPerSec, peakRssMB: rssMB() };
}

/**
 * Peak RSS of MobileNetV2's every-layer training at batch 32 beside PyTorch's (same network shape, each
 * in its own process), with freezeflow's backward pass and with tfjs' own (FREEZEFLOW_LEAN_BACKPROP=0).
 */
function memoryRows(results: Record<string, unknown>, lines: string[]): void {
  if (!existsSync(SHARED)) return void lines.push('memory: not run (../shared/models is not there)');
  const child = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [process.argv[1]!, '--memory-child', '--backend', 'wasm'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    return childJson<Record<string, number>>(r);
  };
  process.stderr.write('bench: MobileNetV2 every layer at batch 32: freezeflow, tfjs backward pass, PyTorch\n');
  const lean = child({});
  const stock = child({ FREEZEFLOW_LEAN_BACKPROP: '0' });
  const py = spawnSync(
    '/usr/bin/python3',
    [join(ROOT, 'bench/torch_bench.py'), '--mobilenet-memory', String(MEMORY.batch)],
    {
      encoding: 'utf8',
    },
  );
  const torch =
    py.status === 0
      ? (JSON.parse(py.stdout) as { mobilenetMemory: Record<string, number> }).mobilenetMemory
      : undefined;
  Object.assign(results, { batch: MEMORY.batch, freezeflow: lean, tfjsBackward: stock, pytorch: torch });
  const cell = (r: Record<string, number> | undefined) =>
    r ? `${fmt(r['peakRssMB'], 0)} MB (${fmt(r['samplesPerSec'])} samples/s)` : 'failed';
  const ratio = (r: Record<string, number> | undefined) =>
    r && torch ? `, ${fmt(r['peakRssMB']! / torch['peakRssMB']!, 2)}× PyTorch's` : '';
  lines.push(
    `MobileNetV2 0.35 every layer, batch ${MEMORY.batch}, peak RSS (goal ≤ PyTorch's): freezeflow ${cell(lean)}${ratio(lean)}; with tfjs' backward pass ${cell(stock)}${ratio(stock)}; PyTorch ${torch ? cell(torch) : 'not run'}`,
  );
}

/**
 * MobileNetV2's rows from a child process: its backend starts as a 224×224 run's does (XNNPACK's whole
 * pool), not as this process's did for the digits.
 */
function mobilenetInChild(results: Record<string, unknown>, lines: string[], backend: string): void {
  if (!existsSync(SHARED)) return;
  const batches = arg('--mobilenet-batch');
  const threads = arg('--threads');
  const r = spawnSync(
    process.execPath,
    [
      process.argv[1]!,
      '--mobilenet-child',
      '--backend',
      backend,
      ...(threads ? ['--threads', threads] : []),
      ...(batches ? ['--mobilenet-batch', batches] : []),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const got = childJson<{ results: Record<string, unknown>; lines: string[] }>(r);
  if (!got) return void lines.push(`MobileNetV2: not run (the child process ended with ${r.status})`);
  Object.assign(results, got.results);
  lines.push(...got.lines);
}

/** The three regimes on the real MobileNetV2 of ../shared/models, when present, per --mobilenet-batch. */
async function mobilenet(results: Record<string, unknown>, lines: string[]): Promise<void> {
  if (!existsSync(SHARED)) return;
  // batch 16 by default (PyTorch's reference numbers in #19 were at 16); 32 fits since the SIMD kernels
  const batches = (arg('--mobilenet-batch') ?? '16').split(',').map(Number);
  const byBatch: Record<string, Record<string, number>> = {};
  for (const mb of batches) byBatch[mb] = await mobilenetAt(mb, results, lines);
  results['mobilenetv2'] = { batch: batches[0], ...byBatch[batches[0]!] };
  results['mobilenetv2ByBatch'] = byBatch;
  if (tf.getBackend() !== 'wasm') return;
  // PyTorch's torchvision-shaped MobileNetV2 0.35 in the same three regimes, right after
  process.stderr.write('bench: PyTorch MobileNetV2, same regimes, 2 threads\n');
  const py = spawnSync(
    '/usr/bin/python3',
    [join(ROOT, 'bench/torch_bench.py'), '8', '8', '--mobilenet-batch', batches.join(',')],
    {
      encoding: 'utf8',
      timeout: 900_000,
    },
  );
  if (py.status !== 0) {
    lines.push(`MobileNetV2 in PyTorch: not run (${py.stderr.trim().split('\n').at(-1) ?? 'no torch'})`);
    return;
  }
  const torch = (JSON.parse(py.stdout) as { mobilenetv2ByBatch: Record<string, Record<string, number>> })
    .mobilenetv2ByBatch;
  results['mobilenetv2Torch'] = torch;
  for (const mb of batches) {
    const [ff, pt] = [byBatch[mb]!, torch[mb]!];
    lines.push(
      `MobileNetV2 batch ${mb}, freezeflow / PyTorch 1.13 (samples/s): head ${fmt(ff['head'])} / ${fmt(pt['head'])} (${fmt(ff['head']! / pt['head']!, 2)}×), partial ${fmt(ff['partial'])} / ${fmt(pt['partial'])} (${fmt(ff['partial']! / pt['partial']!, 2)}×), full ${fmt(ff['full'])} / ${fmt(pt['full'])} (${fmt(ff['full']! / pt['full']!, 2)}×, goal ≥ 1.0)`,
    );
  }
}

async function mobilenetAt(mb: number, results: Record<string, unknown>, lines: string[]) {
  process.stderr.write(`bench: MobileNetV2 (../shared/models), batch ${mb}\n`);
  // GPUs need more steps for a steady rate (readings come every few steps there)
  const n = (tf.getBackend() === 'webgpu' ? 10 : 4) * mb;
  const img = syntheticImages(n, [224, 224, 3]);
  const mob: Record<string, number> = {};
  for (const r of [
    { name: 'head', unfreeze: [] },
    { name: 'partial', unfreeze: ['block_16*', 'Conv_1*'] },
    { name: 'full', unfreeze: ['*'] },
  ] as Regime[])
    mob[r.name] = (await runnerSpeed(SHARED, img, r, mb, false)).samplesPerSec;
  // a nested model's frozen prefix cached (up to model1/block_15_add): 5 epochs, caching included
  const partial = { name: 'partial', unfreeze: ['block_16*', 'Conv_1*'] } as Regime;
  mob['partial-5-epochs-s'] = (await runnerSpeed(SHARED, img, partial, mb, false, 5)).stageSeconds;
  mob['partial-cached-5-epochs-s'] = (await runnerSpeed(SHARED, img, partial, mb, true, 5)).stageSeconds;
  // an effective batch twice as large in the same memory: batches of mb, accumulated in pairs
  mob['full-accumulate-2'] = (
    await runnerSpeed(SHARED, img, { name: 'full', unfreeze: ['*'] }, mb, false, 1, true, 2)
  ).samplesPerSec;
  mob['peak-rss-mb'] = rssMB();
  lines.push(
    '',
    `MobileNetV2 224×224 (../shared), batch ${mb}, ${tf.getBackend()}${results['threads'] ? ` with ${String(results['threads'])} thread(s)` : ''}: head ${fmt(mob['head'])}, partial ${fmt(mob['partial'])}, full ${fmt(mob['full'])} samples/s; full with accumulate 2 (effective batch ${2 * mb}) ${fmt(mob['full-accumulate-2'])} samples/s, peak RSS ${fmt(mob['peak-rss-mb'], 0)} MB; a 5-epoch last-block stage on ${n} images ${fmt(mob['partial-5-epochs-s'])} s, ${fmt(mob['partial-cached-5-epochs-s'])} s with the nested prefix cached (${fmt(mob['partial-5-epochs-s']! / mob['partial-cached-5-epochs-s']!, 1)}×)`,
  );
  return mob;
}

/**
 * A variant of the photos walkthrough: which freezeflow runs it (this checkout, or the commit #19's work
 * started from, built beside it) and what changes in that checkout's schedules/photos-mobilenet.yaml.
 */
interface PhotosVariant {
  key: string;
  label: string;
  before?: boolean;
  edit(s: { data: { batchSize?: number; augment?: Record<string, unknown> } }): void;
}

/** The last commit before #19's work: its code and its photos schedule are the "before" row. */
const BEFORE_19 = 'a20a3ff';

const PHOTOS_VARIANTS: PhotosVariant[] = [
  {
    key: 'before',
    label: `commit ${BEFORE_19} (before #19) with its schedule: fresh augmentation, no caching, batch 16`,
    before: true,
    edit: () => undefined,
  },
  {
    key: 'fresh',
    label: 'this checkout, fresh augmentation every epoch (views removed)',
    edit: (s) => delete s.data.augment!['views'],
  },
  { key: 'views', label: 'this checkout, the shipped schedule (augment.views: 4, batch 32)', edit: () => undefined },
];

/** The commit #19 started from, unpacked and built beside this checkout (its node_modules shared). */
function buildBefore(dir: string): string | undefined {
  const tree = join(dir, 'before');
  const sh = (cmd: string) => spawnSync('bash', ['-c', cmd], { encoding: 'utf8', cwd: ROOT });
  const r = sh(
    `mkdir -p '${tree}' && git archive ${BEFORE_19} | tar -x -C '${tree}' && ln -s '${join(ROOT, 'node_modules')}' '${tree}/node_modules' && node node_modules/typescript/bin/tsc -p '${tree}/tsconfig.json'`,
  );
  return r.status === 0 ? tree : undefined;
}

/** Seconds per stage from a run's events.ndjson (stage start to the next stage's start or the run's end). */
function stageSeconds(events: string): Record<string, number> {
  const es = readFileSync(events, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; time: string; stage?: string });
  const marks = es.filter((e) => e.type === 'stage-start' || e.type === 'run-end');
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < marks.length; i++)
    out[marks[i]!.stage!] = (Date.parse(marks[i + 1]!.time) - Date.parse(marks[i]!.time)) / 1000;
  return out;
}

/**
 * The photos walkthrough (schedules/photos-mobilenet.yaml: head, last blocks, all layers, augmentation)
 * end to end on the Teachable Machine MobileNetV2, 300 generated photos (scripts/photos.ts), as before
 * #19 and as now, in one run; each run's model scored on 200 held-out photos of the same kind.
 */
async function photosRow(results: Record<string, unknown>, lines: string[], backendName: string): Promise<void> {
  if (!existsSync(SHARED)) return;
  const { cpSync, mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  const YAML = (await import('yaml')).default;
  const { makePhotos } = await import('./photos.js');
  const dir = mkdtempSync(join(tmpdir(), 'ff-bench-photos-'));
  try {
    process.stderr.write('bench: photos walkthrough: 300 training and 200 held-out generated photos\n');
    await makePhotos(join(dir, 'photos'), 75, 1);
    await makePhotos(join(dir, 'heldout'), 50, 2);
    cpSync(dirname(SHARED), join(dir, 'mobilenet'), { recursive: true });
    mkdirSync(join(dir, 'schedules'));
    const out: Record<string, unknown> = {};
    const beforeTree = buildBefore(dir);
    for (const v of PHOTOS_VARIANTS) {
      const tree = v.before ? beforeTree : ROOT;
      if (!tree) {
        out[v.key] = { failed: `cannot build commit ${BEFORE_19} (no git history?)` };
        continue;
      }
      const s = YAML.parse(readFileSync(join(tree, 'schedules/photos-mobilenet.yaml'), 'utf8')) as Parameters<
        PhotosVariant['edit']
      >[0];
      v.edit(s);
      const file = join(dir, 'schedules', `${v.key}.yaml`);
      writeFileSync(file, YAML.stringify(s));
      process.stderr.write(`bench: photos walkthrough, ${v.label}\n`);
      const runDir = join(dir, 'runs', v.key);
      const cli = join(tree, 'bin/freezeflow');
      const t0 = performance.now();
      const train = spawnSync(
        process.execPath,
        [cli, 'train', '-s', file, '--out', runDir, '--quiet', '--backend', backendName],
        {
          encoding: 'utf8',
        },
      );
      const seconds = (performance.now() - t0) / 1000;
      if (train.status !== 0) {
        out[v.key] = { failed: train.stderr.trim().split('\n').at(-1) };
        continue;
      }
      // every model is scored by this checkout's evaluate, on the same held-out photos
      const ev = spawnSync(
        process.execPath,
        [
          join(ROOT, 'bin/freezeflow'),
          'evaluate',
          '-m',
          runDir,
          '-d',
          join(dir, 'heldout'),
          '--all',
          '--json',
          '--backend',
          backendName,
        ],
        { encoding: 'utf8' },
      );
      const accuracy = ev.status === 0 ? (JSON.parse(ev.stdout) as { accuracy: number }).accuracy : NaN;
      out[v.key] = {
        label: v.label,
        seconds,
        stages: stageSeconds(join(runDir, 'events.ndjson')),
        heldoutAccuracy: accuracy,
        batch: s.data.batchSize,
        views: s.data.augment?.['views'],
      };
    }
    results['photos'] = out;
    lines.push(
      '',
      `photos walkthrough (schedules/photos-mobilenet.yaml, TM MobileNetV2, 300 generated photos, ${backendName}), held-out accuracy on 200 more:`,
    );
    for (const v of PHOTOS_VARIANTS) {
      const r = out[v.key] as {
        seconds?: number;
        stages?: Record<string, number>;
        heldoutAccuracy?: number;
        failed?: string;
      };
      if (r.failed) lines.push(`  ${v.key.padEnd(7)} failed: ${r.failed}`);
      else
        lines.push(
          `  ${v.key.padEnd(7)} ${fmt(r.seconds, 0).padStart(5)} s (${Object.entries(r.stages!)
            .map(([k, s]) => `${k} ${fmt(s, 0)} s`)
            .join(', ')}), held-out accuracy ${fmt(100 * r.heldoutAccuracy!, 1)} %  — ${v.label}`,
        );
    }
    const before = (out['before'] as { seconds?: number }).seconds;
    const now = (out['views'] as { seconds?: number }).seconds;
    const fresh = (out['fresh'] as { seconds?: number }).seconds;
    lines.push(
      `  speed-up over the code #19 started from: ${fmt(before && now ? before / now : NaN, 2)}× with views, ${fmt(before && fresh ? before / fresh : NaN, 2)}× with fresh augmentation (goal ≥ 3×)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * #31's networks: torchvision's, exported to ONNX (scripts/torch_export.py, random weights) and imported.
 * `last` is what the middle regime trains besides the new head; bench/torch_tv_bench.py trains the same
 * PyTorch modules.
 */
const TORCHVISION = [
  { model: 'resnet18', last: ['layer4.1*'] },
  { model: 'mobilenet_v3_small', last: ['features.11*', 'features.12*', 'classifier.0*'] },
  { model: 'efficientnet_b0', last: ['features.7*', 'features.8*'] },
] as const;
const TV = { size: 160, batch: 32, steps: 3, headSteps: 15, cellMinutes: 10 };
const TV_REGIMES = ['head', 'last', 'full'] as const;
/** Timed steps of a cell, the same on both sides: the head trains on cached features, so more, cheaper ones. */
const tvSteps = (regime: string) => (regime === 'head' ? TV.headSteps : TV.steps);

/** One cell in this process (its peak RSS is its own): `DIR:MODEL:REGIME`, DIR holding the import. */
async function torchvisionChild(spec: string): Promise<Record<string, number>> {
  const [dir, model, regime] = spec.split(':') as [string, string, (typeof TV_REGIMES)[number]];
  const net = TORCHVISION.find((t) => t.model === model)!;
  const n = (tvSteps(regime) + 1) * TV.batch;
  const data = syntheticImages(n, [TV.size, TV.size, 3]);
  const unfreeze = regime === 'head' ? [] : regime === 'last' ? [...net.last] : ['*'];
  const r = await runnerSpeed(dir, data, { name: 'partial', unfreeze }, TV.batch, regime === 'head');
  return { samplesPerSec: r.samplesPerSec, peakRssMB: rssMB(), trainableParams: r.trainableParams };
}

/** Export and import one network into `dir`; undefined when PyTorch or the import is not there. */
function exportAndImport(model: string, dir: string): string | undefined {
  const exp = spawnSync(
    '/usr/bin/python3',
    [join(ROOT, 'scripts/torch_export.py'), '--model', model, '--size', String(TV.size), '--out', dir],
    { encoding: 'utf8' },
  );
  if (exp.status !== 0) return `export failed: ${exp.stderr.trim().split('\n').at(-1) ?? ''}`;
  const imp = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/freezeflow'), 'import', join(dir, 'model.onnx'), '--out', join(dir, 'tfjs')],
    {
      encoding: 'utf8',
    },
  );
  return imp.status === 0 ? undefined : `import failed: ${imp.stderr.trim()}`;
}

/** One cell on both sides, each in its own process: freezeflow (this backend) and PyTorch (2 threads). */
function torchvisionCell(dir: string, model: string, regime: string, backend: string) {
  const ff = spawnSync(
    process.execPath,
    [
      process.argv[1]!,
      '--tv-child',
      `${join(dir, 'tfjs')}:${model}:${regime}`,
      '--backend',
      backend,
      '--threads',
      String(defaultThreads(TV.size * TV.size)),
    ],
    { encoding: 'utf8', timeout: TV.cellMinutes * 60_000 },
  );
  const pt = spawnSync(
    '/usr/bin/python3',
    [
      join(ROOT, 'bench/torch_tv_bench.py'),
      '--model',
      model,
      '--regime',
      regime,
      '--size',
      String(TV.size),
      '--batch',
      String(TV.batch),
      '--steps',
      String(tvSteps(regime)),
    ],
    { encoding: 'utf8', timeout: 1_800_000 },
  );
  return {
    freezeflow: childJson<Record<string, number>>(ff),
    pytorch: childJson<Record<string, number>>(pt),
    error: String(ff.stderr).includes('the wasm heap is full')
      ? 'the wasm heap is full at this batch (the watchdog ended it)'
      : ff.signal
        ? `did not finish in ${TV.cellMinutes} min`
        : ff.status !== 0
          ? String(ff.stderr).slice(-300)
          : undefined,
  };
}

function torchvisionRows(results: Record<string, unknown>, lines: string[]): void {
  const work = join(tmpdir(), `freezeflow-bench-tv-${process.pid}`);
  lines.push(
    `torchvision networks, ${TV.size}×${TV.size}, batch ${TV.batch}, freezeflow (${String(results['backend'])}) / PyTorch (2 threads): samples/s (ratio, goal ≥ 1.0) and peak RSS`,
  );
  for (const { model } of TORCHVISION) {
    const dir = join(work, model);
    const failed = exportAndImport(model, dir);
    if (failed) {
      lines.push(`  ${model}: not run (${failed})`);
      continue;
    }
    const cells: Record<string, unknown> = {};
    for (const regime of TV_REGIMES) {
      process.stderr.write(`bench: ${model}, ${regime}\n`);
      const c = torchvisionCell(dir, model, regime, String(results['backend']));
      cells[regime] = c;
      const [ff, pt] = [c.freezeflow, c.pytorch];
      lines.push(
        ff && pt
          ? `  ${model.padEnd(19)} ${regime.padEnd(5)} ${fmt(ff['samplesPerSec'])} / ${fmt(pt['samplesPerSec'])} (${fmt(ff['samplesPerSec']! / pt['samplesPerSec']!, 2)}×), RSS ${fmt(ff['peakRssMB'], 0)} / ${fmt(pt['peakRssMB'], 0)} MB (${fmt(ff['peakRssMB']! / pt['peakRssMB']!, 2)}×)`
          : `  ${model.padEnd(19)} ${regime.padEnd(5)} not run (${c.error ?? 'PyTorch failed'})`,
      );
    }
    results[model] = cells;
  }
}

/** The model --profile SOURCE names, if any. */
function profileSource(): string | undefined {
  const given = arg('--profile');
  return given && !given.startsWith('--') ? given : undefined;
}

/** The model and data --profile trains: resnet-mini on the digits, or SOURCE on synthetic images. */
async function profileSubject(): Promise<{ source: string; data: Dataset; batch: number }> {
  const given = profileSource();
  if (!given) {
    const digits = split(loadBuiltinDataset('mnist-5-9'), 0.2, 42).train;
    return {
      source: 'builtin:resnet-mini',
      data: subset(
        digits,
        Array.from({ length: 12 * 64 }, (_, i) => i),
      ),
      batch: 64,
    };
  }
  const model = await loadModel(given);
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as [number, number, number];
  model.dispose();
  const batch = Number(arg('--batch') ?? 32);
  return { source: given, data: syntheticImages(5 * batch, [h, w, c]), batch };
}

/**
 * --regime head: the new head alone on cached features (the small-data case); --regime last: resnet-mini's
 * last block (the main job's second stage) on cached features; default every layer.
 */
function profileRegime(source: string): Regime {
  const given = arg('--regime');
  if (given === 'head') return { name: 'head', unfreeze: [] };
  if (given === 'last' && source === 'builtin:resnet-mini') return { name: 'partial', unfreeze: ['layer3*'] };
  if (given !== undefined && given !== 'full')
    throw new Error(`--regime ${given}: use head, full, or last (resnet-mini)`);
  return { name: 'full', unfreeze: ['*'] };
}

/** Per step, steady state (batches after the first): each part's own time, and the JavaScript around them. */
async function profileRows(results: Record<string, unknown>, lines: string[]): Promise<void> {
  const { source, data, batch } = await profileSubject();
  const prof = profileWasmKernels();
  let snapshot = new Map<string, { ms: number; calls: number }>();
  const onBatch = (b: number) => (b === 1 ? prof.reset() : (snapshot = prof.read()));
  const regime = profileRegime(source);
  const cached = regime.name !== 'full';
  const r = await runnerSpeed(source, data, regime, batch, cached, 1, true, 1, onBatch);
  prof.stop();
  const steps = Math.ceil(data.y.length / batch) - 1;
  const stepMs = (batch / r.samplesPerSec) * 1000;
  const parts = new Map<string, number>();
  for (const [name, t] of snapshot)
    parts.set(kernelCategory(name), (parts.get(kernelCategory(name)) ?? 0) + t.ms / steps);
  const kernels = [...parts.values()].reduce((a, b) => a + b, 0);
  parts.set('JavaScript between kernels', stepMs - kernels);
  const top = [...snapshot].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
  results['profile'] = { source, batch, stepMs, parts: Object.fromEntries(parts), top: Object.fromEntries(top) };
  lines.push(
    `${source}, ${{ head: 'head on cached features', partial: 'last block on cached features', full: 'every layer' }[regime.name as 'head' | 'partial' | 'full']}, batch ${batch}, ${String(results['backend'])}: ${fmt(stepMs, 0)} ms a step (steady state)`,
  );
  for (const [part, ms] of [...parts].sort((a, b) => b[1] - a[1]))
    lines.push(`  ${part.padEnd(28)} ${fmt(ms, 1).padStart(8)} ms  ${fmt((100 * ms) / stepMs, 0).padStart(3)} %`);
  lines.push('  largest kernels (own time per step):');
  for (const [name, t] of top)
    lines.push(
      `    ${name.padEnd(36)} ${fmt(t.ms / steps, 1).padStart(8)} ms  ${String(Math.round(t.calls / steps)).padStart(4)} calls  ${kernelCategory(name)}`,
    );
}

await main();
