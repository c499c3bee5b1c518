// The few layers an imported PyTorch network needs that tfjs-layers does not have. Each is a registered
// tfjs layer class: it saves to model.json with its config and loads again once this module is imported
// (src/model/io.ts imports it, so every freezeflow load knows them). Computation is plain tfjs ops, so
// gradients come from tfjs' autodiff like any built-in layer.
import * as tf from '../../tf.js';
import { HARD_SWISH, HARD_SWISH_GRAD } from '../../core/kernel-names.js';

type Shape = (number | null)[];
type Config = tf.serialization.ConfigDict;
const one = (x: tf.Tensor | tf.Tensor[]) => (Array.isArray(x) ? x[0]! : x);
const shapeOf = (s: Shape | Shape[]) => (Array.isArray(s[0]) ? (s[0] as Shape) : (s as Shape));

/** Constant padding of H and W with any value, per side ('-inf' pads max-pooling inputs as PyTorch does). */
export class OnnxPad extends tf.layers.Layer {
  static className = 'OnnxPad';
  readonly padding: [[number, number], [number, number]];
  readonly fill: number | '-inf';

  constructor(config: { padding: [[number, number], [number, number]]; fill?: number | '-inf'; name?: string }) {
    super(config);
    this.padding = config.padding;
    this.fill = config.fill ?? 0;
  }

  override computeOutputShape(input: Shape | Shape[]): Shape {
    const [n, h, w, c] = shapeOf(input);
    const [[t, b], [l, r]] = this.padding;
    return [n!, h === null ? null : h! + t + b, w === null ? null : w! + l + r, c!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [[t, b], [l, r]] = this.padding;
    const value = this.fill === '-inf' ? -Infinity : this.fill;
    return tf.pad(
      one(inputs),
      [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ],
      value,
    );
  }

  override getConfig(): Config {
    return { ...super.getConfig(), padding: this.padding, fill: this.fill };
  }
}

/**
 * f(x) whose gradient is computed from x alone: composed of tf ops, tfjs would keep each intermediate
 * (the gate, the product) for the backward pass as well — an activation-sized tensor or two per layer.
 */
function fromInputOnly(f: (x: tf.Tensor) => tf.Tensor, grad: (x: tf.Tensor, dy: tf.Tensor) => tf.Tensor) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return { value: f(x), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => grad(saved!, dy) };
  }) as (x: tf.Tensor) => tf.Tensor;
}

/** A kernel freezeflow registered on this backend (src/core/kernel-names.ts), if it is there. */
function registered(name: string, inputs: tf.NamedTensorMap): tf.Tensor | undefined {
  if (inputs['x']!.dtype !== 'float32' || !tf.getKernel(name, tf.getBackend())) return undefined;
  return tf.engine().runKernel(name, inputs) as tf.Tensor;
}

/** x·σ(x) (SiLU); d/dx = σ(x)·(1 + x·(1 − σ(x))). */
const swish = fromInputOnly(
  (x) => tf.mul(x, tf.sigmoid(x)),
  (x, dy) =>
    tf.tidy(() => {
      const s = tf.sigmoid(x);
      return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
    }),
);

/** x·clip(x/6 + 1/2, 0, 1); d/dx as PyTorch's hardswish_backward: 0 below −3, 1 above 3, x/3 + 1/2 between. */
const hardSwish = fromInputOnly(
  (x) => registered(HARD_SWISH, { x }) ?? tf.mul(x, tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1)),
  (x, dy) =>
    registered(HARD_SWISH_GRAD, { x, dy }) ??
    tf.tidy(() => tf.mul(dy, tf.where(tf.less(x, -3), 0, tf.where(tf.greater(x, 3), 1, tf.add(tf.div(x, 3), 0.5))))),
);

const UNARY = {
  hardSigmoid: (x: tf.Tensor, a: number, b: number) => tf.clipByValue(tf.add(tf.mul(x, a), b), 0, 1),
  hardSwish: (x: tf.Tensor) => hardSwish(x),
  swish: (x: tf.Tensor) => swish(x),
  clip: (x: tf.Tensor, a: number, b: number) => tf.clipByValue(x, a, b),
} as const;
export type UnaryOp = keyof typeof UNARY;

/** Elementwise functions ONNX has and tfjs-layers lacks: HardSigmoid(α, β), HardSwish, Swish (x·σ(x)), Clip(min, max). */
export class OnnxUnary extends tf.layers.Layer {
  static className = 'OnnxUnary';
  readonly op: UnaryOp;
  readonly alpha: number;
  readonly beta: number;

  constructor(config: { op: UnaryOp; alpha?: number; beta?: number; name?: string }) {
    super(config);
    if (!(config.op in UNARY)) throw new Error(`OnnxUnary: unknown op '${String(config.op)}'`);
    this.op = config.op;
    this.alpha = config.alpha ?? 0;
    this.beta = config.beta ?? 0;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => UNARY[this.op](one(inputs), this.alpha, this.beta));
  }

  override getConfig(): Config {
    return { ...super.getConfig(), op: this.op, alpha: this.alpha, beta: this.beta };
  }
}

const BINARY = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div } as const;
export type BinaryOp = keyof typeof BINARY;

/**
 * a op b with broadcasting, for two tensors or a tensor and a constant (held in the config, already in the
 * tensor's NHWC layout; `constantFirst` keeps the operand order of Sub and Div).
 */
export class OnnxBinary extends tf.layers.Layer {
  static className = 'OnnxBinary';
  readonly op: BinaryOp;
  readonly constant: { shape: number[]; values: number[] } | null;
  readonly constantFirst: boolean;

  constructor(config: {
    op: BinaryOp;
    constant?: { shape: number[]; values: number[] } | null;
    constantFirst?: boolean;
    name?: string;
  }) {
    super(config);
    if (!(config.op in BINARY)) throw new Error(`OnnxBinary: unknown op '${String(config.op)}'`);
    this.op = config.op;
    this.constant = config.constant ?? null;
    this.constantFirst = config.constantFirst ?? false;
  }

  override computeOutputShape(input: Shape | Shape[]): Shape {
    if (!Array.isArray(input[0]) || input.length < 2) return shapeOf(input);
    const [a, b] = input as Shape[];
    const n = Math.max(a!.length, b!.length);
    const pa = [...Array<number>(n - a!.length).fill(1), ...a!];
    const pb = [...Array<number>(n - b!.length).fill(1), ...b!];
    return pa.map((d, i) => (d === 1 ? pb[i]! : d));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      if (!this.constant) return BINARY[this.op](list[0]!, list[1]!);
      const c = tf.tensor(this.constant.values, this.constant.shape);
      return this.constantFirst ? BINARY[this.op](c, list[0]!) : BINARY[this.op](list[0]!, c);
    });
  }

  override getConfig(): Config {
    return { ...super.getConfig(), op: this.op, constant: this.constant, constantFirst: this.constantFirst };
  }
}

/**
 * A grouped convolution (PyTorch `groups` between 1 and the channel count: ResNeXt, RegNet): the input's
 * channels in `groups` slices, each convolved with its own slice of the filters, concatenated. The kernel
 * is [kh, kw, in/groups, filters], as tf.conv2d would take for one group.
 */
export class GroupConv2D extends tf.layers.Layer {
  static className = 'GroupConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly dilationRate: [number, number];
  readonly groups: number;
  readonly useBias: boolean;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(config: {
    filters: number;
    kernelSize: [number, number];
    strides?: [number, number];
    dilationRate?: [number, number];
    groups: number;
    useBias?: boolean;
    name?: string;
  }) {
    super(config);
    this.filters = config.filters;
    this.kernelSize = config.kernelSize;
    this.strides = config.strides ?? [1, 1];
    this.dilationRate = config.dilationRate ?? [1, 1];
    this.groups = config.groups;
    this.useBias = config.useBias ?? true;
  }

  override build(input: Shape | Shape[]): void {
    const channels = shapeOf(input)[3]!;
    const [kh, kw] = this.kernelSize;
    const init = tf.initializers.glorotUniform({});
    this.kernel = this.addWeight('kernel', [kh, kw, channels / this.groups, this.filters], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(input: Shape | Shape[]): Shape {
    const [n, h, w] = shapeOf(input);
    const out = (size: number | null, i: 0 | 1) =>
      size === null
        ? null
        : Math.floor((size - this.dilationRate[i] * (this.kernelSize[i] - 1) - 1) / this.strides[i]) + 1;
    return [n!, out(h!, 0), out(w!, 1), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      const xs = tf.split(x, this.groups, 3);
      const ks = tf.split(this.kernel!.read() as tf.Tensor4D, this.groups, 3);
      const ys = xs.map((xi, g) =>
        tf.conv2d(xi as tf.Tensor4D, ks[g] as tf.Tensor4D, this.strides, 'valid', 'NHWC', this.dilationRate),
      );
      const y = tf.concat(ys, 3);
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override getConfig(): Config {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      dilationRate: this.dilationRate,
      groups: this.groups,
      useBias: this.useBias,
    };
  }
}

for (const cls of [OnnxPad, OnnxUnary, OnnxBinary, GroupConv2D]) tf.serialization.registerClass(cls);
