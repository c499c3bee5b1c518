// An ONNX graph under construction: nodes, initializers and the model around them (opset 13, the
// default domain only), serialised through the protobuf writer.
import { Message } from './proto-write.js';

export const OPSET = 13;
/** IR version 7 is the one opset 13 came with: the oldest runtime that knows the opset reads it. */
const IR_VERSION = 7;
const FLOAT = 1;
const INT64 = 7;

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

export interface ValueShape {
  name: string;
  /** Dimensions; null is a free dimension (the batch), named `batch` in the file. */
  dims: (number | null)[];
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrValue>;
}

export class OnnxGraph {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers = new Message();
  private readonly used = new Set<string>();

  /** A name not used yet in the graph, from `want` (suffixed _1, _2, … when taken). */
  unique(want: string): string {
    let name = want;
    for (let k = 1; this.used.has(name); k++) name = `${want}_${k}`;
    this.used.add(name);
    return name;
  }

  /** A float32 initializer; returns its (unique) name. */
  floats(want: string, dims: readonly number[], values: Float32Array): string {
    const name = this.unique(want);
    const own = values.slice(); // a backend may reuse the array it handed out
    this.initializers.message(5, tensorProto(name, dims, FLOAT, new Uint8Array(own.buffer)));
    return name;
  }

  /** An int64 initializer (shapes, pads, axes). */
  ints(want: string, values: readonly number[]): string {
    const name = this.unique(want);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.message(5, tensorProto(name, [values.length], INT64, new Uint8Array(data.buffer)));
    return name;
  }

  /** Add a node; returns its output name (a unique name made from `out`). */
  node(op: string, inputs: string[], out: string, attrs: Record<string, AttrValue> = {}): string {
    const output = this.unique(out);
    this.nodes.push({ op, inputs, outputs: [output], name: output, attrs });
    return output;
  }

  /** The ModelProto bytes. `meta` becomes metadata_props (labels, preprocessing, layout). */
  encode(spec: {
    input: ValueShape;
    output: ValueShape;
    meta: Record<string, string>;
    producerVersion: string;
    doc: string;
  }): Uint8Array {
    const graph = new Message();
    for (const n of this.nodes) graph.message(1, nodeProto(n));
    graph.string(2, 'freezeflow').append(this.initializers).string(10, spec.doc);
    graph.message(11, valueInfo(spec.input)).message(12, valueInfo(spec.output));
    const model = new Message().int(1, IR_VERSION).string(2, 'freezeflow').string(3, spec.producerVersion);
    model.message(7, graph).message(8, new Message().string(1, '').int(2, OPSET));
    for (const [key, value] of Object.entries(spec.meta))
      model.message(14, new Message().string(1, key).string(2, value));
    return model.finish();
  }
}

function tensorProto(name: string, dims: readonly number[], type: number, raw: Uint8Array): Message {
  const m = new Message();
  for (const d of dims) m.int(1, d);
  return m.int(2, type).string(8, name).bytes(9, raw);
}

function attrProto(name: string, v: AttrValue): Message {
  const m = new Message().string(1, name);
  if (typeof v === 'string') return m.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  if (typeof v === 'number') return m.int(3, v).int(20, 2);
  if (Array.isArray(v)) {
    for (const x of v) m.int(8, x);
    return m.int(20, 7);
  }
  if ('float' in v) return m.float(2, v.float).int(20, 1);
  for (const x of v.floats) m.float(7, x);
  return m.int(20, 6);
}

function nodeProto(n: NodeSpec): Message {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs)) m.message(5, attrProto(k, v));
  return m;
}

function valueInfo(v: ValueShape): Message {
  const shape = new Message();
  for (const d of v.dims) shape.message(1, d === null ? new Message().string(2, 'batch') : new Message().int(1, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}
