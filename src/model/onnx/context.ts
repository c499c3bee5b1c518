// What a converter sees of the graph while it converts one node: its inputs as values, its attributes,
// a name for the layer it makes, and one way to fail that names the op, the node and the PyTorch module.
import * as tf from '../../tf.js';
import { EXIT_USAGE, UserError } from '../../core/errors.js';
import type { AttrValue, OnnxNode } from './graph.js';
import type { Namer } from './names.js';
import { onnxShapeOf, type ConstValue, type TensorValue, type Value } from './values.js';

/** An ONNX file freezeflow cannot import as it is: exit 2, nothing written. */
export class ImportError extends UserError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/** One weight for a layer, in the layer's own layout. */
export interface Weight {
  data: Float32Array;
  shape: number[];
}

export type Converter = (c: NodeContext) => Value | (Value | undefined)[];

export class NodeContext {
  private layerName?: string;

  constructor(
    readonly node: OnnxNode,
    private readonly values: Map<string, Value>,
    private readonly namer: Namer,
    readonly batch: number,
    readonly opset: number,
  ) {}

  /** The PyTorch module the node came from, for messages. */
  get module(): string {
    return this.namer.moduleOf(this.node, this.weightName());
  }

  /** The node's layer name (taken on first use, so nodes that only fold constants take none). */
  get name(): string {
    this.layerName ??= this.namer.nodeName(this.node, this.weightName());
    return this.layerName;
  }

  /** A second layer for the same node ('layer1.0.conv1.pad'). */
  extra(suffix: string): string {
    return this.namer.unique(`${this.name}.${suffix}`);
  }

  private weightName(): string | undefined {
    return this.node.inputs.slice(1).find((n) => this.values.get(n)?.kind === 'const');
  }

  fail(why: string, fix = 'export the model without it, or open an issue with the model attached'): never {
    const where = this.module ? `, PyTorch module '${this.module}'` : '';
    throw new ImportError(
      `unsupported ${this.node.opType} at node '${this.node.name || '(unnamed)'}'${where}: ${why}; ${fix}`,
    );
  }

  value(i: number): Value | undefined {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') return undefined;
    const v = this.values.get(name);
    if (!v) this.fail(`its input '${name}' is produced by no node the importer converted`);
    return v;
  }

  tensor(i: number): TensorValue {
    const v = this.value(i);
    if (v?.kind !== 'tensor') this.fail(`input ${i} must be a computed tensor, not ${v ? 'a constant' : 'missing'}`);
    return v;
  }

  constant(i: number): ConstValue | undefined {
    const v = this.value(i);
    return v?.kind === 'const' ? v : undefined;
  }

  /** A constant input the op cannot work without (a weight, a shape). */
  needConstant(i: number, what: string): ConstValue {
    const v = this.constant(i);
    if (!v) this.fail(`its ${what} (input ${i}) must be a constant (a parameter or a folded shape)`);
    return v;
  }

  attr(name: string): AttrValue | undefined {
    return this.node.attrs.get(name);
  }

  int(name: string, def: number): number {
    const v = this.attr(name);
    return typeof v === 'number' ? v : def;
  }

  float(name: string, def: number): number {
    return this.int(name, def);
  }

  ints(name: string, def: number[]): number[] {
    const v = this.attr(name);
    return Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number') ? (v as number[]) : def;
  }

  str(name: string, def: string): string {
    const v = this.attr(name);
    return typeof v === 'string' ? v : def;
  }

  /** Apply a layer to symbolic inputs and give it its weights. */
  apply(
    layer: tf.layers.Layer,
    inputs: tf.SymbolicTensor | tf.SymbolicTensor[],
    weights: Weight[] = [],
  ): tf.SymbolicTensor {
    const out = layer.apply(inputs) as tf.SymbolicTensor;
    if (weights.length) {
      const ts = weights.map((w) => tf.tensor(w.data, w.shape));
      layer.setWeights(ts);
      tf.dispose(ts);
    }
    return out;
  }

  /** The tensor in NHWC rank 4 (a squeezed [N, C] global pooling output gets its 1×1 back). */
  nhwc(v: TensorValue): tf.SymbolicTensor {
    if (!v.squeezed) return v.sym;
    const c = v.sym.shape[1]!;
    return this.apply(tf.layers.reshape({ targetShape: [1, 1, c], name: this.extra('unsqueeze') }), v.sym);
  }

  /** Wrap a layer's output as a value (onnxShape from its tfjs shape). */
  out(sym: tf.SymbolicTensor, squeezed = false): TensorValue {
    const shape = onnxShapeOf(sym, this.batch);
    return squeezed
      ? { kind: 'tensor', sym, onnxShape: [...shape, 1, 1], squeezed }
      : { kind: 'tensor', sym, onnxShape: shape };
  }

  /** The same layout flags as `like` (unary ops keep a squeezed value squeezed). */
  like(like: TensorValue, sym: tf.SymbolicTensor): TensorValue {
    return { ...like, sym };
  }
}
