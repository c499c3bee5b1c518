// The lr range test's curve: as text for a terminal, as an SVG chart for report.html and lr-find.html.
import type { RunEvent } from '../core/events.js';
import { fmtLr } from '../core/format.js';
import { lineChart } from './chart.js';

type LrFind = Extract<RunEvent, { type: 'lr-find' }>;

/** Smoothed loss over log10(lr), `rows` lines high, the picked lr marked with '|'. */
export function asciiCurve(e: LrFind, width = 64, rows = 14): string {
  const pts = e.points.filter((p) => Number.isFinite(p.loss));
  if (pts.length < 2) return '(the sweep stopped before it had a curve)';
  const xs = pts.map((p) => Math.log10(p.lr));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  // the blow-up at the end would flatten the rest: clip at 1.5× the first loss
  const cap = Math.max(pts[0]!.loss * 1.5, Math.min(...pts.map((p) => p.loss)) * 1.01);
  const ys = pts.map((p) => Math.min(p.loss, cap));
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const grid = Array.from({ length: rows }, () => Array<string>(width).fill(' '));
  const col = (x: number) => Math.round(((x - x0) / (x1 - x0 || 1)) * (width - 1));
  pts.forEach((_, i) => {
    const r = rows - 1 - Math.round(((ys[i]! - y0) / (y1 - y0 || 1)) * (rows - 1));
    grid[r]![col(xs[i]!)] = '•';
  });
  const mark = col(Math.log10(e.lr));
  for (const line of grid) if (line[mark] === ' ') line[mark] = '|';
  const label = (v: number) => v.toFixed(3).padStart(8);
  const body = grid.map(
    (line, r) => `${r === 0 ? label(y1) : r === rows - 1 ? label(y0) : ' '.repeat(8)} ┤${line.join('')}`,
  );
  const axis = `${' '.repeat(9)}└${'─'.repeat(width)}`;
  const ticks = `${' '.repeat(10)}${fmtLr(10 ** x0).padEnd(width - 8)}${fmtLr(10 ** x1)}`;
  return [...body, axis, ticks, `${' '.repeat(10)}lr (log scale); smoothed loss; | = ${fmtLr(e.lr)} (${e.rule})`].join(
    '\n',
  );
}

/** The curve as a chart: x = log10(lr). */
export function lrFindChart(e: LrFind): string {
  return lineChart(
    `lr-find-${e.stageIndex}`,
    `lr range test, stage ${e.stage}: smoothed loss by lr; picked ${fmtLr(e.lr)} (${e.rule})`,
    [{ name: 'smoothed loss', points: e.points.map((p) => [Math.log10(p.lr), p.loss]) }],
    [{ x: Math.log10(e.lr), label: `${fmtLr(e.lr)}`, kind: 'guard' }],
    // ticks at the powers of ten, written as lrs (1e-5, 1e-4, 0.01), on a log axis
    { xLabel: 'lr (log scale)', xTick: (x) => fmtLr(10 ** x) },
  );
}
