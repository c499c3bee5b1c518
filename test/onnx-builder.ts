// A small ONNX writer for tests: hand-made graphs for the importer's error paths and a numeric check that
// needs no PyTorch. Protobuf wire format, written out directly.
import { varint as encodeVarint } from '../src/export/onnx/proto-write.js';

type Field = number[];

const varint = (n: number): Field => [...encodeVarint(n)];
const key = (no: number, wire: number) => varint(no * 8 + wire);
const len = (no: number, body: Field) => [...key(no, 2), ...varint(body.length), ...body];
const str = (no: number, s: string) => len(no, [...new TextEncoder().encode(s)]);
const int = (no: number, n: number) => [...key(no, 0), ...varint(n)];
const f32 = (no: number, x: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...key(no, 5), ...b];
};

export type Attr = number | number[] | string | { float: number };

function attr(name: string, v: Attr): Field {
  if (typeof v === 'string') return [...str(1, name), ...str(4, v), ...int(20, 3)];
  if (typeof v === 'number') return [...str(1, name), ...int(3, v), ...int(20, 2)];
  if (Array.isArray(v)) return [...str(1, name), ...v.flatMap((x) => int(8, x)), ...int(20, 7)];
  return [...str(1, name), ...f32(2, v.float), ...int(20, 1)];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, Attr>;
  domain?: string;
}

export function tensor(name: string, dims: number[], values: number[] | Float32Array, external?: string): Field {
  const head = [...dims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, name)];
  if (external) return [...head, ...len(13, [...str(1, 'location'), ...str(2, external)]), ...int(14, 1)];
  const raw = new Uint8Array(Float32Array.from(values).buffer);
  return [...head, ...len(9, [...raw])];
}

function valueInfo(name: string, dims: (number | string)[]): Field {
  const dimsF = dims.flatMap((d) => len(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, 1), ...len(2, dimsF)];
  return [...str(1, name), ...len(2, len(1, tensorType))];
}

export function onnxModel(spec: {
  nodes: NodeSpec[];
  initializers?: Field[];
  input: [string, (number | string)[]];
  output: [string, (number | string)[]];
  opset?: number;
}): Uint8Array {
  const nodes = spec.nodes.flatMap((n) =>
    len(1, [
      ...n.inputs.flatMap((i) => str(1, i)),
      ...n.outputs.flatMap((o) => str(2, o)),
      ...str(3, n.name ?? ''),
      ...str(4, n.op),
      ...Object.entries(n.attrs ?? {}).flatMap(([k, v]) => len(5, attr(k, v))),
      ...(n.domain ? str(7, n.domain) : []),
    ]),
  );
  const graph = [
    ...nodes,
    ...str(2, 'test'),
    ...(spec.initializers ?? []).flatMap((t) => len(5, t)),
    ...len(11, valueInfo(...spec.input)),
    ...len(12, valueInfo(...spec.output)),
  ];
  return new Uint8Array([
    ...int(1, 7),
    ...str(2, 'freezeflow-test'),
    ...len(7, graph),
    ...len(8, [...str(1, ''), ...int(2, spec.opset ?? 13)]),
  ]);
}

/**
 * A 12×12 RGB net with the layers an import adds: an uneven pad, PyTorch-padded max-pooling, a grouped
 * conv (GroupConv2D), HardSwish and HardSigmoid (OnnxUnary), a squeeze-excitation product (OnnxBinary).
 * Input x [1, 3, 12, 12], output y [1, 2]. (Its max-pool pads come out as tfjs 'same'; OnnxPad is made
 * directly where a test needs it.)
 */
export function customLayersNet(): Uint8Array {
  const r = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.sin(s * 977 + i * 3.7) * 0.4);
  return onnxModel({
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'stem.weight'],
        outputs: ['a'],
        name: '/stem/Conv',
        attrs: { kernel_shape: [3, 3], pads: [1, 0, 0, 1], strides: [1, 1] },
      },
      {
        op: 'MaxPool',
        inputs: ['a'],
        outputs: ['p'],
        name: '/pool/MaxPool',
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      },
      {
        op: 'Conv',
        inputs: ['p', 'group.weight', 'group.bias'],
        outputs: ['g'],
        name: '/group/Conv',
        attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 2 },
      },
      { op: 'HardSwish', inputs: ['g'], outputs: ['h'], name: '/act/HardSwish' },
      { op: 'GlobalAveragePool', inputs: ['h'], outputs: ['s0'], name: '/se/avgpool/GlobalAveragePool' },
      {
        op: 'Conv',
        inputs: ['s0', 'se.fc.weight'],
        outputs: ['s1'],
        name: '/se/fc/Conv',
        attrs: { kernel_shape: [1, 1] },
      },
      {
        op: 'HardSigmoid',
        inputs: ['s1'],
        outputs: ['s2'],
        name: '/se/gate/HardSigmoid',
        attrs: { alpha: { float: 1 / 6 }, beta: { float: 0.5 } },
      },
      { op: 'Mul', inputs: ['h', 's2'], outputs: ['m'], name: '/se/Mul' },
      { op: 'GlobalAveragePool', inputs: ['m'], outputs: ['q'], name: '/avgpool/GlobalAveragePool' },
      { op: 'Flatten', inputs: ['q'], outputs: ['f'], name: '/Flatten', attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['f', 'fc.weight', 'fc.bias'], outputs: ['y'], name: '/fc/Gemm', attrs: { transB: 1 } },
    ],
    initializers: [
      tensor('stem.weight', [4, 3, 3, 3], r(108, 1)),
      tensor('group.weight', [4, 2, 3, 3], r(72, 2)),
      tensor('group.bias', [4], r(4, 3)),
      tensor('se.fc.weight', [4, 4, 1, 1], r(16, 4)),
      tensor('fc.weight', [2, 4], r(8, 5)),
      tensor('fc.bias', [2], r(2, 6)),
    ],
    input: ['x', [1, 3, 12, 12]],
    output: ['y', [1, 2]],
  });
}
