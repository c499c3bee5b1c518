// Layers that move values around: Flatten, Reshape and Permute (in tfjs' NHWC order, so a Dense after
// them sees the features as it was trained on), Rescaling, and the layers that do nothing at inference.
import { refuse, type LayerJob, type Value } from '../context.js';

export function flattenLayer(job: LayerJob): Value {
  const x = job.cx.nhwc(job.inputs[0]!);
  return { name: job.g.node('Flatten', [x], job.layer.name, { axis: 1 }), shape: job.outShape, nchw: false };
}

export function reshapeLayer(job: LayerJob): Value {
  const target = job.config['targetShape'] as number[];
  const name = job.layer.name;
  // 0 keeps the batch dimension as it comes
  const shape = job.g.ints(`${name}/shape`, [0, ...target]);
  return { name: job.g.node('Reshape', [job.cx.nhwc(job.inputs[0]!), shape], name), shape: job.outShape, nchw: false };
}

export function permuteLayer(job: LayerJob): Value {
  const dims = job.config['dims'] as number[];
  const x = job.cx.nhwc(job.inputs[0]!);
  return {
    name: job.g.node('Transpose', [x], job.layer.name, { perm: [0, ...dims] }),
    shape: job.outShape,
    nchw: false,
  };
}

export function rescalingLayer(job: LayerJob): Value {
  const { scale, offset } = job.config as { scale: number; offset: number };
  const x = job.inputs[0]!;
  const name = job.layer.name;
  const scaled = job.g.node(
    'Mul',
    [x.name, job.g.floats(`${name}/scale`, [], Float32Array.of(scale))],
    `${name}/scaled`,
  );
  const out = job.g.node('Add', [scaled, job.g.floats(`${name}/offset`, [], Float32Array.of(offset))], name);
  return { name: out, shape: job.outShape, nchw: x.nchw };
}

/** Dropout and noise layers: the identity at inference, no node at all. */
export function identityLayer(job: LayerJob): Value {
  const x = job.inputs[0]!;
  if (job.inputs.length !== 1) refuse(job, 'an identity layer with several inputs');
  return { ...x, shape: job.outShape };
}
