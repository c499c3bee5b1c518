// Prints the GPU/CPU and GPU/PyTorch ratios from the JSON files scripts/gpu-check.sh wrote:
// wasm.json and webgpu.json (scripts/bench.ts --regimes-only), torch.json (bench/torch_bench.py).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Rates = Record<string, number>;
interface Bench {
  device?: string;
  freezeflow?: Rates;
  mobilenetv2ByBatch?: Record<string, Rates>;
}
interface Torch {
  gpu?: string;
  device?: string;
  torch?: string;
  head?: { samplesPerSec: number };
  partial?: { samplesPerSec: number };
  full?: { samplesPerSec: number };
  mobilenetv2ByBatch?: Record<string, Rates>;
}

const dir = process.argv[2] ?? '.';
const read = <T>(f: string): T | undefined => {
  // a part cut short leaves an empty or partial file: no row for it rather than a crash
  try {
    return existsSync(join(dir, f)) ? (JSON.parse(readFileSync(join(dir, f), 'utf8')) as T) : undefined;
  } catch {
    return undefined;
  }
};
const [cpu, gpu, torch] = [read<Bench>('wasm.json'), read<Bench>('webgpu.json'), read<Torch>('torch.json')];
const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${fmt(a / b, 2)}×` : '—');

if (!gpu) {
  console.log('gpu-ratios: no webgpu results (the webgpu bench did not run; see doctor above)');
  process.exit(0);
}
console.log(
  `webgpu on ${gpu.device ?? 'an unnamed adapter'}; PyTorch: ${torch ? `${torch.torch} on ${torch.gpu ?? torch.device}` : '—'}`,
);
console.log(
  `${'regime'.padEnd(34)}${'webgpu'.padStart(10)}${'wasm 2 thr'.padStart(12)}${'ratio'.padStart(8)}${'PyTorch'.padStart(10)}${'ratio'.padStart(8)}  samples/s`,
);
const row = (name: string, g?: number, c?: number, t?: number) =>
  console.log(
    `${name.padEnd(34)}${fmt(g).padStart(10)}${fmt(c).padStart(12)}${ratio(g, c).padStart(8)}${fmt(t).padStart(10)}${ratio(g, t).padStart(8)}`,
  );
for (const k of ['head', 'partial', 'full'] as const)
  row(`resnet-mini ${k}, batch 64`, gpu.freezeflow?.[k], cpu?.freezeflow?.[k], torch?.[k]?.samplesPerSec);
// the CPU baseline is wasm's own default batch for MobileNetV2 (16): larger batches run out of wasm memory
const cpuMob = cpu?.mobilenetv2ByBatch?.['16'];
for (const [b, rates] of Object.entries(gpu.mobilenetv2ByBatch ?? {}))
  for (const k of ['head', 'partial', 'full'])
    row(`MobileNetV2 224 ${k}, batch ${b}`, rates[k], cpuMob?.[k], torch?.mobilenetv2ByBatch?.[b]?.[k]);
console.log('(wasm: MobileNetV2 at batch 16; goals: MobileNetV2 full ≥ 10× wasm on 2 threads, ≥ 0.25× PyTorch CUDA)');
