// Dense: Gemm on a [N, features] value; MatMul + Add on a higher-rank one (NHWC, as tfjs applies it).
import { needWeight, weight, type LayerJob, type Value } from '../context.js';
import { activate } from './activation.js';

export function denseLayer(job: LayerJob): Value {
  const x = job.inputs[0]!;
  const name = job.layer.name;
  const act = job.config['activation'] as string | undefined;
  const linear = act && act !== 'linear' ? `${name}/linear` : name;
  const kernel = needWeight(job.layer, 'kernel');
  const w = job.g.floats(`${name}/kernel`, kernel.shape, kernel.values);
  const bias = weight(job.layer, 'bias');
  const b = bias ? job.g.floats(`${name}/bias`, bias.shape, bias.values) : undefined;
  let out: string;
  if (x.shape.length === 2) out = job.g.node('Gemm', b ? [x.name, w, b] : [x.name, w], linear);
  else {
    const product = job.g.node('MatMul', [job.cx.nhwc(x), w], b ? `${name}/matmul` : linear);
    out = b ? job.g.node('Add', [product, b], linear) : product;
  }
  const v: Value = { name: out, shape: job.outShape, nchw: false };
  return { ...v, name: activate(job, out, v, act, name) };
}
