// Convolutions: Conv2D, DepthwiseConv2D and freezeflow's GroupConv2D as ONNX Conv (NCHW, OIHW weights,
// `group`), with TensorFlow's 'same' padding written out as the explicit, possibly uneven, pads it is.
import { needWeight, permute, refuse, weight, type Attrs, type LayerJob, type Value } from '../context.js';
import { activate } from './activation.js';

type Pair = [number, number];
const pair = (v: unknown, fallback: number): Pair =>
  v === undefined || v === null
    ? [fallback, fallback]
    : Array.isArray(v)
      ? [v[0], v[1] ?? v[0]]
      : [v as number, v as number];

/** TensorFlow's 'same': output ceil(in / stride), the padding split with the extra pixel at the end. */
export function samePads(job: LayerJob, kernel: Pair, strides: Pair, dilation: Pair): number[] {
  const [, h, w] = job.inputs[0]!.shape;
  if (h === null || w === null || h === undefined || w === undefined)
    refuse(job, "'same' padding needs a fixed input height and width");
  const split = (size: number, i: 0 | 1) => {
    const k = (kernel[i] - 1) * dilation[i] + 1;
    const total = Math.max((Math.ceil(size / strides[i]) - 1) * strides[i] + k - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [top, bottom] = split(h, 0);
  const [left, right] = split(w, 1);
  return [top!, left!, bottom!, right!];
}

function padsFor(job: LayerJob, kernel: Pair, strides: Pair, dilation: Pair): number[] {
  const padding = (job.config['padding'] as string | undefined) ?? 'valid';
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') return samePads(job, kernel, strides, dilation);
  return refuse(job, `padding '${padding}' has no ONNX Conv form`);
}

function checkLayout(job: LayerJob): void {
  const format = job.config['dataFormat'];
  if (format !== undefined && format !== 'channelsLast') refuse(job, `dataFormat '${String(format)}' is not supported`);
}

/** One ONNX Conv from an OIHW kernel, then bias and the layer's activation. */
function conv(job: LayerJob, kernel: { values: Float32Array; shape: number[] }, group: number): Value {
  checkLayout(job);
  const x = job.inputs[0]!;
  const name = job.layer.name;
  const ks: Pair = [kernel.shape[2]!, kernel.shape[3]!];
  const strides = pair(job.config['strides'], 1);
  const dilations = pair(job.config['dilationRate'], 1);
  const attrs: Attrs = { kernel_shape: ks, strides, dilations, group, pads: padsFor(job, ks, strides, dilations) };
  const inputs = [job.cx.nchw(x), job.g.floats(`${name}/kernel`, kernel.shape, kernel.values)];
  const bias = weight(job.layer, 'bias');
  if (bias) inputs.push(job.g.floats(`${name}/bias`, bias.shape, bias.values));
  const act = job.config['activation'] as string | undefined;
  const out = job.g.node('Conv', inputs, act && act !== 'linear' ? `${name}/conv` : name, attrs);
  const v: Value = { name: out, shape: job.outShape, nchw: true };
  return { ...v, name: activate(job, out, v, act, name) };
}

/** HWIO → OIHW */
const oihw = (k: { values: Float32Array; shape: number[] }) => {
  const [kh, kw, ci, co] = k.shape as [number, number, number, number];
  return { values: permute(k.values, k.shape, [3, 2, 0, 1]), shape: [co, ci, kh, kw] };
};

export function conv2dLayer(job: LayerJob): Value {
  const groups = (job.config['groups'] as number | undefined) ?? 1;
  return conv(job, oihw(needWeight(job.layer, 'kernel')), groups);
}

export function depthwiseLayer(job: LayerJob): Value {
  // [kh, kw, in, m] → [in·m, 1, kh, kw]: output channel c·m + j, as TensorFlow orders them
  const k = needWeight(job.layer, 'depthwise_kernel');
  const [kh, kw, ci, m] = k.shape as [number, number, number, number];
  return conv(job, { values: permute(k.values, k.shape, [2, 3, 0, 1]), shape: [ci * m, 1, kh, kw] }, ci);
}

export function groupConvLayer(job: LayerJob): Value {
  return conv(job, oihw(needWeight(job.layer, 'kernel')), job.config['groups'] as number);
}
