// `freezeflow doctor`: which backends this machine has, their versions, whether a GPU is really used,
// and which one `auto` picks.
import { packageVersion } from '../core/paths.js';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import * as tf from '../tf.js';
import { initBackend, probeTensorflowGpu, probeWebgpu, tryNative } from '../backend/index.js';
import { simdStatus } from '../backend/simd.js';
import { threadsSetting } from './threads.js';
import { style } from './style.js';
import { EXIT_OK } from '../core/errors.js';
import { OPTIMIZERS } from '../schedule/optimizers/index.js';
import { SCHEDULERS } from '../schedule/schedulers/index.js';
import { HEADS } from '../core/heads/index.js';
import { REPORTERS } from '../schedule/reporters/index.js';
import { registrations, WASM_KERNELS } from '../backend/kernel-table.js';

const require = createRequire(import.meta.url);

interface BackendStatus {
  name: string;
  available: boolean;
  detail: string;
  version?: string;
  /** Works when asked for by name, but `auto` passes it over (a software GPU adapter). */
  skippedByAuto?: boolean;
}

function versionOf(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** tfjs-node-gpu: installed, and whether TensorFlow really creates a GPU device. */
function tensorflowGpuStatus(): BackendStatus {
  const gpuPkg = '@tensorflow/tfjs-node-gpu';
  const missing = tryNative(gpuPkg);
  if (missing) return { name: 'tensorflow-gpu', available: false, detail: missing };
  const p = probeTensorflowGpu();
  return {
    name: 'tensorflow-gpu',
    available: p.gpu,
    detail: p.gpu ? `GPU: ${p.detail}` : p.detail,
    version: versionOf(gpuPkg),
  };
}

async function webgpuStatus(): Promise<BackendStatus> {
  const wg = await probeWebgpu();
  return {
    name: 'webgpu',
    available: wg.adapter !== undefined,
    skippedByAuto: wg.software,
    detail: !wg.adapter
      ? wg.reason!
      : wg.software
        ? `software adapter, slower than wasm, not picked by auto (--backend webgpu still uses it): ${wg.name}`
        : `adapter: ${wg.name}`,
    version: versionOf('@tensorflow/tfjs-backend-webgpu'),
  };
}

/** The kernel table in a phrase: how many rows of each kind ('doctor --kernels' lists them). */
function kernelSummary(): string {
  const n = (impl: string) => WASM_KERNELS.filter((k) => k.impl === impl).length;
  return `freezeflow kernels: ${n('simd')} SIMD, ${n('composed')} composed, ${n('heap')} on the heap, ${n('gradient')} gradient (doctor --kernels)`;
}

/** The wasm kernel table as doctor shows it: each row, what it registered over, in precedence order. */
function kernelRows() {
  const found = registrations();
  return WASM_KERNELS.map((k, row) => ({
    kernels: [...k.kernels],
    impl: k.impl,
    over: k.over,
    what: k.what,
    registered: found.some((r) => r.row === row),
  }));
}

/** wasm as training would start it: SIMD, threads, freezeflow's kernels. */
async function wasmStatus(): Promise<BackendStatus> {
  const version = versionOf('@tensorflow/tfjs-backend-wasm');
  try {
    const r = await initBackend('wasm', { threads: threadsSetting() });
    const threads = `${r.threads} thread${r.threads === 1 ? '' : 's'}${r.threadsNote ? ` (${r.threadsNote})` : ''}${(r.threads ?? 1) > 1 ? ", at most 2 for images under 64×64 (there XNNPACK's pool is 1, the SIMD kernels' helper the second)" : ''}`;
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
    return {
      name: 'wasm',
      available: true,
      detail: `${simd}, ${threads}; ${simdStatus(tf.backend())}; ${kernelSummary()}`,
      version,
    };
  } catch (err) {
    return { name: 'wasm', available: false, detail: (err as Error).message.split('\n')[0]!, version };
  }
}

export async function doctorReport(): Promise<{
  environment: Record<string, string | number>;
  backends: BackendStatus[];
  auto: string;
  /** What schedules can name, from the kind tables. */
  kinds: { optimizers: string[]; schedulers: string[]; headLayers: string[]; metricFiles: string[] };
  /** The wasm kernel table, in registration (precedence) order. */
  wasmKernels: ReturnType<typeof kernelRows>;
}> {
  const cpuPkg = '@tensorflow/tfjs-node';
  const cpuMissing = tryNative(cpuPkg);
  // in auto's order of preference
  const backends: BackendStatus[] = [
    tensorflowGpuStatus(),
    await webgpuStatus(),
    {
      name: 'tensorflow',
      available: !cpuMissing,
      detail: cpuMissing ?? 'native TensorFlow on the CPU',
      version: versionOf(cpuPkg),
    },
    await wasmStatus(),
    {
      name: 'cpu',
      available: true,
      detail: 'pure JavaScript (slow for conv gradients)',
      version: versionOf('@tensorflow/tfjs-backend-cpu'),
    },
  ];
  return {
    environment: {
      freezeflow: packageVersion(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      tfjs: versionOf('@tensorflow/tfjs-core') ?? 'unknown',
    },
    backends,
    auto: backends.find((b) => b.available && !b.skippedByAuto)!.name,
    kinds: {
      optimizers: OPTIMIZERS.map((o) => o.type),
      schedulers: SCHEDULERS.map((o) => o.type),
      headLayers: HEADS.map((h) => h.key),
      metricFiles: REPORTERS.map((r) => r.type),
    },
    wasmKernels: kernelRows(),
  };
}

export async function runDoctor(opts: { json?: boolean; kernels?: boolean }): Promise<number> {
  const r = await doctorReport();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return EXIT_OK;
  }
  const env = r.environment;
  const lines = [
    `freezeflow ${env['freezeflow']}; node ${env['node']} on ${env['platform']}, ${env['cpus']} CPU cores; @tensorflow/tfjs ${env['tfjs']}`,
    '',
  ];
  for (const b of r.backends) {
    const mark = !b.available ? style.dim('no ') : b.skippedByAuto ? style.yellow('sw ') : style.green('yes');
    lines.push(`${mark}  ${b.name.padEnd(15)} ${style.dim((b.version ?? '').padEnd(7))}  ${b.detail}`);
  }
  lines.push('', `auto picks: ${style.bold(r.auto)}`);
  const k = r.kinds;
  lines.push(
    '',
    `optimizers: ${k.optimizers.join(', ')}; schedulers: ${k.schedulers.join(', ')}; head layers: ${k.headLayers.join(', ')}; metrics files: ${k.metricFiles.join(', ')}`,
  );
  if (opts.kernels) lines.push('', ...kernelLines(r.wasmKernels));
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

/** doctor --kernels: the wasm kernel table, one row per line, in the order (and precedence) they register. */
function kernelLines(rows: ReturnType<typeof kernelRows>): string[] {
  const over = { wasm: "wasm's own", composed: 'the composed row', 'tfjs-gradient': "tfjs' gradient", none: '-' };
  return [
    'wasm kernels, in registration order (a later row sits in front of an earlier one and falls back to it):',
    ...rows.map(
      (k) =>
        `  ${k.registered ? ' ' : style.dim('×')} ${k.impl.padEnd(8)} ${k.kernels.join(', ').padEnd(38)} over ${over[k.over].padEnd(16)} ${style.dim(k.what)}`,
    ),
  ];
}
