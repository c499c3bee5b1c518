// Activations: the layers (ReLU, LeakyReLU, Softmax, Activation, OnnxUnary) and the `activation` option
// of Conv2D and Dense, in ONNX ops of opset 13 (HardSwish is opset 14: written as x·HardSigmoid(x)).
import { NCHW_AXIS, refuse, type LayerJob, type Value } from '../context.js';

type Apply = (job: LayerJob, x: string, out: string, axis: number) => string;

const clip = (job: LayerJob, x: string, out: string, lo: number, hi: number) =>
  job.g.node(
    'Clip',
    [x, job.g.floats(`${out}/min`, [], Float32Array.of(lo)), job.g.floats(`${out}/max`, [], Float32Array.of(hi))],
    out,
  );
const unary =
  (op: string, attrs = {}): Apply =>
  (job, x, out) =>
    job.g.node(op, [x], out, attrs);
/** x · f(x) (swish, mish, hard swish) */
const gated =
  (inner: Apply): Apply =>
  (job, x, out, axis) =>
    job.g.node('Mul', [x, inner(job, x, `${out}/gate`, axis)], out);

const ACTIVATIONS: Record<string, Apply> = {
  linear: (_job, x) => x,
  relu: unary('Relu'),
  relu6: (job, x, out) => clip(job, x, out, 0, 6),
  sigmoid: unary('Sigmoid'),
  tanh: unary('Tanh'),
  softmax: (job, x, out, axis) => job.g.node('Softmax', [x], out, { axis }),
  elu: unary('Elu', { alpha: { float: 1 } }),
  selu: unary('Selu'),
  softplus: unary('Softplus'),
  softsign: unary('Softsign'),
  // tfjs' hard_sigmoid is Keras': clip(0.2·x + 0.5, 0, 1)
  hardSigmoid: unary('HardSigmoid', { alpha: { float: 0.2 }, beta: { float: 0.5 } }),
  swish: gated(unary('Sigmoid')),
  mish: gated((job, x, out) => job.g.node('Tanh', [job.g.node('Softplus', [x], `${out}/softplus`)], out)),
};

/** Softmax's axis for a value: the last tfjs axis, moved to channels when the value is NCHW. */
export function lastAxis(v: Value): number {
  return v.nchw && v.shape.length === 4 ? 1 : -1;
}

/** Apply a tfjs activation by name to `x` (a value in layout `v`); returns the output name. */
export function activate(job: LayerJob, x: string, v: Value, name: string | undefined, out: string): string {
  const f = ACTIVATIONS[name ?? 'linear'];
  if (!f) refuse(job, `activation '${name}' has no ONNX form here (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return f(job, x, out, lastAxis(v));
}

const same = (job: LayerJob, name: string): Value => {
  const x = job.inputs[0]!;
  return { name, shape: job.outShape, nchw: x.nchw };
};

export function activationLayer(job: LayerJob): Value {
  const x = job.inputs[0]!;
  return same(job, activate(job, x.name, x, job.config['activation'] as string, job.layer.name));
}

export function reluLayer(job: LayerJob): Value {
  const { maxValue } = job.config as { maxValue?: number | null };
  const x = job.inputs[0]!;
  return same(
    job,
    maxValue === null || maxValue === undefined
      ? job.g.node('Relu', [x.name], job.layer.name)
      : clip(job, x.name, job.layer.name, 0, maxValue),
  );
}

export function leakyReluLayer(job: LayerJob): Value {
  const alpha = (job.config['alpha'] as number | undefined) ?? 0.3;
  return same(job, job.g.node('LeakyRelu', [job.inputs[0]!.name], job.layer.name, { alpha: { float: alpha } }));
}

export function softmaxLayer(job: LayerJob): Value {
  const x = job.inputs[0]!;
  const axis = (job.config['axis'] as number | undefined) ?? -1;
  const rank = x.shape.length;
  const positive = axis < 0 ? axis + rank : axis;
  const onnxAxis = x.nchw && rank === 4 ? NCHW_AXIS[positive]! : positive;
  return same(job, job.g.node('Softmax', [x.name], job.layer.name, { axis: onnxAxis }));
}

/** freezeflow's OnnxUnary (an imported network's HardSigmoid, HardSwish, Swish, Clip) back to ONNX. */
export function onnxUnaryLayer(job: LayerJob): Value {
  const { op, alpha, beta } = job.config as { op: string; alpha: number; beta: number };
  const x = job.inputs[0]!;
  const name = job.layer.name;
  const hard = (at: string) =>
    job.g.node('HardSigmoid', [x.name], at, { alpha: { float: alpha }, beta: { float: beta } });
  if (op === 'hardSigmoid') return same(job, hard(name));
  if (op === 'clip') return same(job, clip(job, x.name, name, alpha, beta));
  if (op === 'swish')
    return same(job, job.g.node('Mul', [x.name, job.g.node('Sigmoid', [x.name], `${name}/gate`)], name));
  if (op === 'hardSwish') {
    const gate = job.g.node('HardSigmoid', [x.name], `${name}/gate`, { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
    return same(job, job.g.node('Mul', [x.name, gate], name));
  }
  return refuse(job, `OnnxUnary op '${op}' is unknown to this version`);
}
