// BatchNormalization as ONNX BatchNormalization (inference form: moving mean and variance), on the
// channel axis: 1 in NCHW, or the last axis of a [N, C] value.
import { needWeight, refuse, weight, type LayerJob, type Value } from '../context.js';

export function batchNormLayer(job: LayerJob): Value {
  const x = job.inputs[0]!;
  const rank = x.shape.length;
  const axis = job.config['axis'] as number | number[] | undefined;
  if (Array.isArray(axis) && axis.length !== 1) refuse(job, 'normalising over several axes');
  const a = Array.isArray(axis) ? axis[0]! : (axis ?? -1);
  if (!((rank === 4 || rank === 2) && (a === -1 || a === rank - 1)))
    refuse(job, `normalising axis ${a} of a rank-${rank} value (ONNX normalises the channel axis)`);
  const name = job.layer.name;
  const mean = needWeight(job.layer, 'moving_mean');
  const variance = needWeight(job.layer, 'moving_variance');
  const c = mean.values.length;
  const gamma = weight(job.layer, 'gamma')?.values ?? new Float32Array(c).fill(1);
  const beta = weight(job.layer, 'beta')?.values ?? new Float32Array(c);
  const inputs = [
    job.cx.nchw(x),
    job.g.floats(`${name}/gamma`, [c], gamma),
    job.g.floats(`${name}/beta`, [c], beta),
    job.g.floats(`${name}/moving_mean`, [c], mean.values),
    job.g.floats(`${name}/moving_variance`, [c], variance.values),
  ];
  const epsilon = (job.config['epsilon'] as number | undefined) ?? 1e-3;
  const out = job.g.node('BatchNormalization', inputs, name, { epsilon: { float: epsilon } });
  return { name: out, shape: job.outShape, nchw: rank === 4 };
}
