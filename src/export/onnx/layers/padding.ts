// Padding: ZeroPadding2D and freezeflow's OnnxPad (any constant, -inf before PyTorch's max-pooling) as Pad.
import type { LayerJob, Value } from '../context.js';

type Padding = [[number, number], [number, number]];

function pad(job: LayerJob, padding: Padding, fill: number): Value {
  const [[t, b], [l, r]] = padding;
  const name = job.layer.name;
  const inputs = [job.cx.nchw(job.inputs[0]!), job.g.ints(`${name}/pads`, [0, 0, t, l, 0, 0, b, r])];
  if (fill !== 0) inputs.push(job.g.floats(`${name}/value`, [], Float32Array.of(fill)));
  return { name: job.g.node('Pad', inputs, name, { mode: 'constant' }), shape: job.outShape, nchw: true };
}

/** tfjs keeps ZeroPadding2D's padding as a number, a pair or [[top, bottom], [left, right]]. */
function padding(v: unknown): Padding {
  if (typeof v === 'number')
    return [
      [v, v],
      [v, v],
    ];
  const [h, w] = v as [number | [number, number], number | [number, number]];
  const side = (s: number | [number, number]): [number, number] => (typeof s === 'number' ? [s, s] : s);
  return [side(h), side(w)];
}

export function zeroPaddingLayer(job: LayerJob): Value {
  return pad(job, padding(job.config['padding'] ?? 1), 0);
}

export function onnxPadLayer(job: LayerJob): Value {
  const fill = job.config['fill'] as number | '-inf' | undefined;
  return pad(job, job.config['padding'] as Padding, fill === '-inf' ? -Infinity : (fill ?? 0));
}
