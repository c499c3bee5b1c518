// An ONNX graph → a tfjs LayersModel: one walk over the nodes in their (topological) order, each through
// its converter from the table, with the values it produces kept by name. NCHW becomes NHWC at the input.
import * as tf from '../../tf.js';
import { ImportError, NodeContext } from './context.js';
import { DTYPE, type OnnxModel, type ValueInfo } from './graph.js';
import { Namer } from './names.js';
import { CONVERTERS } from './ops/index.js';
import { onnxShapeOf, tensorConstant, type Value } from './values.js';
import './layers.js';

export interface ConvertOptions {
  /** H and W for a model exported with a dynamic spatial size */
  inputSize?: [number, number];
}

export interface Converted {
  model: tf.LayersModel;
  opCounts: Record<string, number>;
  /** an eval-mode export folded BatchNorm into the convolutions and lost the parameter names */
  bnFolded: boolean;
  inputShape: number[];
}

/** The graph's one real input (older exporters list the initializers as inputs too). */
function realInput(m: OnnxModel): ValueInfo {
  const ins = m.graph.inputs.filter((i) => !m.graph.initializers.has(i.name));
  if (ins.length !== 1)
    throw new ImportError(`the model has ${ins.length} inputs; freezeflow imports single-input models`);
  return ins[0]!;
}

function inputDims(input: ValueInfo, opts: ConvertOptions): { shape: number[]; batch: number } {
  const dims = input.dims;
  if (!dims || dims.length < 2)
    throw new ImportError(`input '${input.name}' has no known shape; re-export with a fixed example input`);
  const batch = typeof dims[0] === 'number' && dims[0] > 0 ? dims[0] : 1;
  const rest = dims.slice(1);
  if (rest.length === 3 && opts.inputSize && rest.slice(1).some((d) => typeof d !== 'number' || d <= 0)) {
    rest[1] = opts.inputSize[0];
    rest[2] = opts.inputSize[1];
  }
  const bad = rest.findIndex((d) => typeof d !== 'number' || d <= 0);
  if (bad >= 0)
    throw new ImportError(
      `input '${input.name}' has a dynamic size ('${String(rest[bad])}' at dimension ${bad + 1}); import it with freezeflow import --input-size H,W and use that folder`,
    );
  const nums = rest as number[];
  // NCHW in ONNX, NHWC in tfjs
  return { shape: nums.length === 3 ? [nums[1]!, nums[2]!, nums[0]!] : nums, batch };
}

export function convertModel(m: OnnxModel, opts: ConvertOptions = {}): Converted {
  const input = realInput(m);
  if (input.elemType !== DTYPE.FLOAT && input.elemType !== 0)
    throw new ImportError(
      `input '${input.name}' is not float32 (ONNX type ${input.elemType}); freezeflow imports image models`,
    );
  const { shape, batch } = inputDims(input, opts);
  const values = new Map<string, Value>();
  for (const [name, t] of m.graph.initializers) values.set(name, tensorConstant(t));
  const sym = tf.input({ shape, name: 'input' });
  values.set(input.name, { kind: 'tensor', sym, onnxShape: onnxShapeOf(sym, batch) });
  const namer = new Namer(m.graph.nodes);
  const opCounts: Record<string, number> = {};
  for (const node of m.graph.nodes) {
    opCounts[node.opType] = (opCounts[node.opType] ?? 0) + 1;
    const c = new NodeContext(node, values, namer, batch, m.opset);
    const known = node.domain && node.domain !== 'ai.onnx' ? undefined : CONVERTERS[node.opType];
    const convert =
      known ??
      c.fail(
        `freezeflow has no converter for ${node.domain ? `${node.domain}:` : ''}${node.opType}`,
        'the supported operators are listed in docs/pytorch.md; replace the module or export without it',
      );
    const out = convert(c);
    const outs = Array.isArray(out) ? out : [out];
    node.outputs.forEach((name, i) => {
      const v = outs[i];
      if (v && name) values.set(name, v);
    });
  }
  const outputs = m.graph.outputs.map((o) => {
    const v = values.get(o.name);
    if (v?.kind !== 'tensor')
      throw new ImportError(`output '${o.name}' is ${v ? 'a constant' : 'not computed'}; nothing to train`);
    return v.sym;
  });
  const model = tf.model({
    inputs: sym,
    outputs: outputs.length === 1 ? outputs[0]! : outputs,
    name: m.graph.name || 'imported',
  });
  const hasBn = m.graph.nodes.some((n) => n.opType === 'BatchNormalization');
  const unnamed = [...m.graph.initializers.keys()].some((k) => k.startsWith('onnx::'));
  return { model, opCounts, bnFolded: !hasBn && unnamed, inputShape: shape };
}
