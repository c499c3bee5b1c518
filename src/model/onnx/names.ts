// Layer names for an imported graph: the PyTorch module path of each node. torch.onnx names nodes by their
// module scope, '/layer3/layer3.0/conv1/Conv' (a Sequential child's segment is already its full path,
// 'layer3.0', a plain attribute is not, 'conv1'): that is module 'layer3.0.conv1'. A functional op inside a
// module ('/layer1/layer1.0/Add') becomes 'layer1.0.add'. Files without scopes fall back to the parameter
// names ('features.0.0.weight' → 'features.0.0') or the op type.
import type { OnnxNode } from './graph.js';

const VALID = /[^-A-Za-z0-9._/]/g; // what tfjs allows in a layer name (and no '/': that is freezeflow's nesting)

/**
 * The module path a torch.onnx node name encodes, or undefined when it has no scope. Each segment is a
 * module's local name, except that a Sequential's child is written 'parent.0' ('/layer2/layer2.0/
 * downsample/downsample.0/Conv' is module 'layer2.0.downsample.0').
 */
export function scopePath(nodeName: string): string[] | undefined {
  if (!nodeName.startsWith('/')) return undefined;
  const segs = nodeName.split('/').slice(1, -1); // the last segment is the op ('Conv', 'Conv_1')
  const path: string[] = [];
  let prevSeg = '';
  for (const seg of segs) {
    const prev = path.at(-1);
    const full =
      prev === undefined ? seg : seg.startsWith(`${prevSeg}.`) ? prev + seg.slice(prevSeg.length) : `${prev}.${seg}`;
    path.push(full);
    prevSeg = seg;
  }
  return path;
}

/** The module a parameter belongs to ('layer1.0.conv1.weight' → 'layer1.0.conv1'), if it has a name like that. */
export function paramModule(name: string): string | undefined {
  const m = /^(.+)\.(weight|bias|running_mean|running_var)$/.exec(name);
  return m && !m[1]!.startsWith('onnx::') ? m[1] : undefined;
}

function clean(name: string): string {
  const s = name.replace(VALID, '_').replace(/\//g, '.');
  return /^[A-Za-z0-9]/.test(s) ? s : `m${s}`;
}

/** Names every node's layer(s) uniquely, after the PyTorch modules they came from. */
export class Namer {
  private readonly used = new Set<string>();
  /** module paths that are parents of other scopes: their nodes are functional ops, not the module */
  private readonly containers = new Set<string>();

  constructor(nodes: readonly OnnxNode[]) {
    for (const n of nodes) for (const p of scopePath(n.name)?.slice(0, -1) ?? []) this.containers.add(p);
  }

  /** The PyTorch module a node came from: its scope, else its weight's module, else ''. */
  moduleOf(node: OnnxNode, weightName?: string): string {
    const scope = scopePath(node.name);
    if (scope?.length) return scope.at(-1)!;
    return (weightName && paramModule(weightName)) ?? '';
  }

  /**
   * A node's layer name: the module path for the module's own op ('/layer1/layer1.0/conv1/Conv' →
   * 'layer1.0.conv1'); path.op for a functional op inside a container ('layer1.0.add') or a second op of
   * one module (SiLU's Mul: 'features.0.2.mul'), so a pattern naming the module covers them all.
   */
  nodeName(node: OnnxNode, weightName?: string): string {
    const scope = scopePath(node.name);
    const op = node.opType.toLowerCase();
    if (scope === undefined) return this.unique(clean((weightName && paramModule(weightName)) || node.name || op));
    if (scope.length === 0) return this.unique(op);
    const mod = clean(scope.at(-1)!);
    return this.unique(this.containers.has(scope.at(-1)!) || this.used.has(mod) ? `${mod}.${op}` : mod);
  }

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
