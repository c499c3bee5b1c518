// Backpropagation that lets go as it goes. tfjs' engine.gradients keeps every tensor's gradient and every
// node's saved tensors until the whole backward pass ends, so its peak holds the saved activations and a
// gradient for each of them at once. Here each node's output gradients and saved tensors are disposed as
// soon as its own gradient has run: its outputs' consumers all come after it on the tape, so nothing
// reads them again. Same kernels in the same order, so the same numbers; only the peak changes. The
// walk is tfjs' own (tape.ts getFilteredNodesXToY and backpropagateGradients, engine.ts gradients),
// ported; nested gradients (a gradient of a gradient) keep tfjs' version.
import * as tf from '../tf.js';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  gradients: Gradients;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string | (() => T), f?: () => T): T;
}

type Gradients = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

/** The tape's nodes on a path from some x to y, each with only its inputs that come from an x. */
function nodesXToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape)
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      node.outputs.forEach((o) => fromX.add(o.id));
      nodesFromX.add(node.id);
    }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    Object.values(node.inputs).forEach((t) => toY.add(t.id));
    nodesToY.add(node.id);
  }
  return tape
    .filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))) }));
}

/** Adds one input's gradient from `node` into `grads`, checked as tfjs checks it. */
function accumulate(grads: Map<number, tf.Tensor>, node: TapeNode, name: string, dx: tf.Tensor): void {
  const where = `Error in gradient for op ${node.kernelName}. The gradient of input`;
  if (dx.dtype !== 'float32') throw new Error(`${where} ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
  const x = node.inputs[name]!;
  if (!tf.util.arraysEqual(dx.shape, x.shape))
    throw new Error(
      `${where} '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
    );
  const cur = grads.get(x.id);
  if (!cur) return void grads.set(x.id, dx);
  grads.set(x.id, tf.add(cur, dx));
  cur.dispose();
}

/**
 * After `node`'s gradient: its outputs' gradients and its saved tensors. A gradient that is also another
 * tensor's (a gradient function may hand dy on as it is) stays, as does the caller's dy.
 */
function release(grads: Map<number, tf.Tensor>, node: TapeNode, seed: tf.Tensor): void {
  const spent = node.outputs.map((o) => grads.get(o.id)).filter((g): g is tf.Tensor => g !== undefined);
  node.outputs.forEach((o) => grads.delete(o.id));
  const live = new Set(grads.values());
  for (const g of spent) if (g !== seed && !live.has(g)) g.dispose();
  node.saved?.forEach((t) => t.dispose());
}

function backprop(engine: EngineInternals, tape: readonly TapeNode[], grads: Map<number, tf.Tensor>, seed: tf.Tensor) {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const inputGrads = node.gradient(node.outputs.map((o) => grads.get(o.id) ?? null));
    for (const name in node.inputs) {
      if (!(name in inputGrads))
        throw new Error(
          `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGrads)}.`,
        );
      accumulate(
        grads,
        node,
        name,
        engine.tidy(() => inputGrads[name]!()),
      );
    }
    release(grads, node, seed);
  }
}

/** engine.gradients with release(); the original for nested gradients. */
function leanGradients(engine: EngineInternals, original: Gradients): Gradients {
  return (f, xs, dy, allowNoGradients = false) => {
    if (engine.state.gradientDepth > 0) return original(f, xs, dy, allowNoGradients);
    tf.util.assert(xs.length > 0, () => 'gradients() received an empty list of xs.');
    if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy('forward', f),
    );
    tf.util.assert(y instanceof tf.Tensor, () => 'The result y returned by f() must be a tensor.');
    const tape = engine.state.activeTape!;
    const filtered = nodesXToY(tape, xs, y);
    if (!allowNoGradients && filtered.length === 0 && xs.length > 0)
      throw new Error(
        'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.',
      );
    return engine.tidy('backward', () => {
      const seed = dy ?? tf.ones(y.shape);
      const grads = new Map([[y.id, seed]]);
      backprop(engine, filtered, grads, seed);
      const out = xs.map((x) => grads.get(x.id)!);
      tape.forEach((node) => node.saved?.forEach((t) => t.dispose()));
      engine.state.activeTape = null;
      return { value: y, grads: out };
    });
  };
}

let installed = false;

/** Route tfjs' gradients (variableGrads, grads, customGrad's backward) through the lean walk; once. */
export function installLeanBackprop(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  engine.gradients = leanGradients(engine, engine.gradients.bind(engine));
}
