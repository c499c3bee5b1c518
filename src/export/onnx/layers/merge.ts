// Layers of several inputs: Add, Multiply, Average, Maximum, Minimum, Concatenate, and
// freezeflow's OnnxBinary (an imported network's arithmetic, with a constant kept in the layer config).
import { NCHW_AXIS, refuse, type LayerJob, type Value } from '../context.js';

/** Every input in one layout: NCHW when the values are images. Mixed ranks are refused. */
function aligned(job: LayerJob): { names: string[]; nchw: boolean } {
  const ranks = new Set(job.inputs.map((v) => v.shape.length));
  if (ranks.size > 1)
    refuse(job, `inputs of different ranks (${[...ranks].join(', ')}) need broadcasting rules ONNX orders differently`);
  const images = job.inputs[0]!.shape.length === 4;
  return { names: job.inputs.map((v) => (images ? job.cx.nchw(v) : v.name)), nchw: images };
}

function variadic(op: 'Sum' | 'Mean' | 'Max' | 'Min') {
  return (job: LayerJob): Value => {
    const { names, nchw } = aligned(job);
    return { name: job.g.node(op, names, job.layer.name), shape: job.outShape, nchw };
  };
}

export const addLayer = variadic('Sum');
export const averageLayer = variadic('Mean');
export const maximumLayer = variadic('Max');
export const minimumLayer = variadic('Min');

export function multiplyLayer(job: LayerJob): Value {
  const { names, nchw } = aligned(job);
  let out = names[0]!;
  for (let i = 1; i < names.length; i++)
    out = job.g.node('Mul', [out, names[i]!], i === names.length - 1 ? job.layer.name : `${job.layer.name}/${i}`);
  return { name: out, shape: job.outShape, nchw };
}

export function concatenateLayer(job: LayerJob): Value {
  const { names, nchw } = aligned(job);
  const rank = job.inputs[0]!.shape.length;
  const axis = (job.config['axis'] as number | undefined) ?? -1;
  const positive = axis < 0 ? axis + rank : axis;
  const onnxAxis = nchw ? NCHW_AXIS[positive]! : positive;
  return { name: job.g.node('Concat', names, job.layer.name, { axis: onnxAxis }), shape: job.outShape, nchw };
}

const BINARY: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' };

/** A constant held NHWC-broadcastable, as an NCHW one when the other operand is an image. */
function constantFor(job: LayerJob, c: { shape: number[]; values: number[] }, nchw: boolean): string {
  const name = `${job.layer.name}/constant`;
  const values = Float32Array.from(c.values);
  if (!nchw) return job.g.floats(name, c.shape, values);
  const full = [...Array<number>(4 - c.shape.length).fill(1), ...c.shape];
  if (full.length !== 4) refuse(job, `a constant of rank ${c.shape.length} beside an image`);
  const [n, h, w, ch] = full as [number, number, number, number];
  // NHWC → NCHW of the constant itself
  const out = new Float32Array(values.length);
  for (let a = 0; a < n; a++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < ch; k++) out[((a * ch + k) * h + y) * w + x] = values[((a * h + y) * w + x) * ch + k]!;
  return job.g.floats(name, [n, ch, h, w], out);
}

export function onnxBinaryLayer(job: LayerJob): Value {
  const { op, constant, constantFirst } = job.config as {
    op: string;
    constant: { shape: number[]; values: number[] } | null;
    constantFirst: boolean;
  };
  const onnxOp = BINARY[op] ?? refuse(job, `OnnxBinary op '${op}' is unknown to this version`);
  if (!constant) {
    const { names, nchw } = aligned(job);
    return { name: job.g.node(onnxOp, names, job.layer.name), shape: job.outShape, nchw };
  }
  const x = job.inputs[0]!;
  const nchw = x.shape.length === 4;
  const a = nchw ? job.cx.nchw(x) : x.name;
  const c = constantFor(job, constant, nchw);
  return { name: job.g.node(onnxOp, constantFirst ? [c, a] : [a, c], job.layer.name), shape: job.outShape, nchw };
}
