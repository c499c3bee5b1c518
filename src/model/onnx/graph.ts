// ONNX messages as plain objects: the model, its graph, nodes, attributes and tensors (onnx.proto).
import { Reader } from './proto.js';

export const DTYPE = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** float types as float32 */
  float?: Float32Array;
  /** integer and bool types */
  int?: number[];
  /** external data that was not (yet) read: where it lives */
  external?: { location: string; offset: number; length: number };
}

export type AttrValue = number | string | number[] | string[] | OnnxTensor;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** a number, or the dimension's symbolic name (dim_param), or null when unknown */
  dims: (number | string | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producer: string;
  producerVersion: string;
  opset: number;
  graph: OnnxGraph;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** raw_data (little-endian) in the tensor's element type. */
function fromRaw(t: OnnxTensor, raw: Uint8Array): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = t.dims.reduce((a, b) => a * b, 1);
  const each = {
    [DTYPE.FLOAT]: 4,
    [DTYPE.INT32]: 4,
    [DTYPE.INT64]: 8,
    [DTYPE.BOOL]: 1,
    [DTYPE.FLOAT16]: 2,
    [DTYPE.DOUBLE]: 8,
  }[t.dataType];
  if (each === undefined) return; // an element type the importer never reads
  if (raw.byteLength < n * each) throw new Error(`tensor '${t.name}' has ${raw.byteLength} bytes, needs ${n * each}`);
  if (t.dataType === DTYPE.FLOAT) {
    t.float = new Float32Array(n);
    for (let i = 0; i < n; i++) t.float[i] = view.getFloat32(4 * i, true);
  } else if (t.dataType === DTYPE.FLOAT16) {
    t.float = Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
  } else if (t.dataType === DTYPE.DOUBLE) {
    t.float = Float32Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true));
  } else if (t.dataType === DTYPE.INT64) {
    t.int = Array.from({ length: n }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  } else if (t.dataType === DTYPE.INT32) {
    t.int = Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true));
  } else {
    t.int = Array.from(raw.subarray(0, n));
  }
}

export function readTensor(r: Reader): OnnxTensor {
  const t: OnnxTensor = { name: '', dims: [], dataType: 0 };
  const floats: number[] = [];
  const ints: number[] = [];
  let raw: Uint8Array | undefined;
  let location = 0;
  const ext: Record<string, string> = {};
  r.fields((no, wire) => {
    if (no === 1) r.repeated(wire, () => r.varint(), t.dims);
    else if (no === 2) t.dataType = r.varint();
    else if (no === 4) r.repeated(wire, () => r.float32(), floats);
    else if (no === 5 || no === 7 || no === 11) r.repeated(wire, () => r.varint(), ints);
    else if (no === 8) t.name = r.string();
    else if (no === 9) raw = r.bytes();
    else if (no === 10)
      r.repeated(
        wire,
        () => {
          const v = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 8).getFloat64(0, true);
          r.pos += 8;
          return v;
        },
        floats,
      );
    else if (no === 13) {
      const e = r.sub();
      let k = '';
      let v = '';
      e.fields((n) => {
        if (n === 1) k = e.string();
        else if (n === 2) v = e.string();
        else return false;
      });
      ext[k] = v;
    } else if (no === 14) location = r.varint();
    else return false;
  });
  if (location === 1) {
    t.external = {
      location: ext['location'] ?? '',
      offset: Number(ext['offset'] ?? 0),
      length: Number(ext['length'] ?? -1),
    };
  } else if (raw) fromRaw(t, raw);
  else if (t.dataType === DTYPE.FLOAT16) t.float = Float32Array.from(ints, halfToFloat);
  else if (floats.length || t.dataType === DTYPE.FLOAT || t.dataType === DTYPE.DOUBLE)
    t.float = Float32Array.from(floats);
  else t.int = ints;
  return t;
}

/** Fill a tensor whose data lives in an external file (bytes: that file's contents). */
export function fillExternal(t: OnnxTensor, file: Uint8Array): void {
  const { offset, length } = t.external!;
  const end = length >= 0 ? offset + length : file.byteLength;
  if (end > file.byteLength)
    throw new Error(`external data of '${t.name}' runs past the end of ${t.external!.location}`);
  fromRaw(t, file.subarray(offset, end));
  delete t.external;
}

function readAttr(r: Reader): [string, AttrValue] {
  let name = '';
  let value: AttrValue | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let type = 0;
  r.fields((no, wire) => {
    if (no === 1) name = r.string();
    else if (no === 2) value = r.float32();
    else if (no === 3) value = r.varint();
    else if (no === 4) value = r.string();
    else if (no === 5) value = readTensor(r.sub());
    else if (no === 7) r.repeated(wire, () => r.float32(), floats);
    else if (no === 8) r.repeated(wire, () => r.varint(), ints);
    else if (no === 9) strings.push(r.string());
    else if (no === 20) type = r.varint();
    else return false;
  });
  // AttributeProto.type: 6 FLOATS, 7 INTS, 8 STRINGS
  if (value === undefined) value = type === 6 || floats.length ? floats : type === 8 || strings.length ? strings : ints;
  return [name, value];
}

function readNode(r: Reader): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: new Map() };
  r.fields((no) => {
    if (no === 1) node.inputs.push(r.string());
    else if (no === 2) node.outputs.push(r.string());
    else if (no === 3) node.name = r.string();
    else if (no === 4) node.opType = r.string();
    else if (no === 5) {
      const [k, v] = readAttr(r.sub());
      node.attrs.set(k, v);
    } else if (no === 7) node.domain = r.string();
    else return false;
  });
  return node;
}

function readDims(r: Reader): (number | string | null)[] {
  const dims: (number | string | null)[] = [];
  r.fields((no) => {
    if (no !== 1) return false;
    const d = r.sub();
    let dim: number | string | null = null;
    d.fields((n) => {
      if (n === 1) dim = d.varint();
      else if (n === 2) dim = d.string();
      else return false;
    });
    dims.push(dim);
  });
  return dims;
}

function readValueInfo(r: Reader): ValueInfo {
  const v: ValueInfo = { name: '', elemType: 0, dims: null };
  r.fields((no) => {
    if (no === 1) v.name = r.string();
    else if (no === 2) {
      const type = r.sub();
      type.fields((n) => {
        if (n !== 1) return false;
        const tt = type.sub();
        tt.fields((k) => {
          if (k === 1) v.elemType = tt.varint();
          else if (k === 2) v.dims = readDims(tt.sub());
          else return false;
        });
      });
    } else return false;
  });
  return v;
}

function readGraph(r: Reader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  r.fields((no) => {
    if (no === 1) g.nodes.push(readNode(r.sub()));
    else if (no === 2) g.name = r.string();
    else if (no === 5) {
      const t = readTensor(r.sub());
      g.initializers.set(t.name, t);
    } else if (no === 11) g.inputs.push(readValueInfo(r.sub()));
    else if (no === 12) g.outputs.push(readValueInfo(r.sub()));
    else return false;
  });
  return g;
}

/** Decode a ModelProto. Throws ProtoError (or Error) for bytes that are not one. */
export function decodeModel(bytes: Uint8Array): OnnxModel & { hasGraph: boolean } {
  const m = { irVersion: 0, producer: '', producerVersion: '', opset: 0, hasGraph: false } as OnnxModel & {
    hasGraph: boolean;
  };
  m.graph = { name: '', nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  const r = new Reader(bytes);
  r.fields((no) => {
    if (no === 1) m.irVersion = r.varint();
    else if (no === 2) m.producer = r.string();
    else if (no === 3) m.producerVersion = r.string();
    else if (no === 7) {
      m.graph = readGraph(r.sub());
      m.hasGraph = true;
    } else if (no === 8) {
      const o = r.sub();
      let domain = '';
      let version = 0;
      o.fields((n) => {
        if (n === 1) domain = o.string();
        else if (n === 2) version = o.varint();
        else return false;
      });
      if (domain === '' || domain === 'ai.onnx') m.opset = version;
    } else return false;
  });
  return m;
}
