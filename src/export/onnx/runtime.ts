// onnxruntime-node, when installed, runs an exported model for the accuracy check. It is a dev
// dependency (its binaries are ~250 MB): an install without it still exports, and says it did not measure.
import type { Runner } from '../formats/kind.js';

interface OrtTensor {
  data: Float32Array;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(bytes: Uint8Array): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
  env: { versions?: { node?: string } };
}

export async function loadOrt(): Promise<Ort | undefined> {
  try {
    const mod = (await import('onnxruntime-node' as string)) as { default?: Ort } & Ort;
    return mod.default ?? mod;
  } catch {
    return undefined;
  }
}

/** NHWC → NCHW for one batch, as a PyTorch-style caller would pass it. */
function toNchw(x: Float32Array, n: number, [h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h!; y++)
      for (let i = 0; i < w!; i++)
        for (let k = 0; k < c!; k++) out[((b * c! + k) * h! + y) * w! + i] = x[((b * h! + y) * w! + i) * c! + k]!;
  return out;
}

export async function ortRunner(
  bytes: Uint8Array,
  shape: readonly number[],
  nchw: boolean,
): Promise<Runner | undefined> {
  const ort = await loadOrt();
  if (!ort) return undefined;
  const session = await ort.InferenceSession.create(bytes);
  const [h, w, c] = shape as [number, number, number];
  return {
    engine: `onnxruntime-node ${ort.env.versions?.node ?? ''}`.trim(),
    run: async (x, n) => {
      const data = nchw ? toNchw(x, n, shape) : x;
      const dims = nchw ? [n, c, h, w] : [n, h, w, c];
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, dims) });
      return out[session.outputNames[0]!]!.data;
    },
    dispose: () => void session.release(),
  };
}
