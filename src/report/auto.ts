// The report's stages: auto section: the gradient probe's ranking as a bar chart (the blocks it chose
// marked with their stage), and each stage with why it began, the lr it found and why it ended.
import type { RunEvent } from '../core/events.js';
import { CHAR_W, esc, table } from './markup.js';
import { stageOutcome, type StageOutcome } from '../core/stage-outcome.js';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;
const fmt = (x: number) => Number(x.toPrecision(3)).toString();

/** One bar per block, in model order; the chosen ones dark and labelled with their stage number. */
function rankingChart(p: Ev<'auto-probe'>): string {
  const by = p.rank === 'rgn' ? 'rgn' : 'gain';
  const max = Math.max(...p.blocks.map((b) => b[by]).filter(Number.isFinite), 1e-30);
  const label = Math.max(...p.blocks.map((b) => b.name.length)) * CHAR_W + 12;
  const [w, row] = [360, 18];
  const bars = p.blocks.map((b, i) => {
    const stage = p.order.indexOf(b.name) + 1;
    const chosen = stage > 0 && stage <= p.stages;
    const len = Number.isFinite(b[by]) ? (b[by] / max) * w : 0;
    const y = i * row;
    return `<text x="${label - 6}" y="${y + 13}" text-anchor="end">${esc(b.name)}</text><rect x="${label}" y="${y + 3}" width="${len.toFixed(1)}" height="${row - 6}" fill="${chosen ? '#1f77b4' : '#c6dbef'}"/><text x="${(label + len + 4).toFixed(1)}" y="${y + 13}">${fmt(b[by])}${chosen ? ` — stage ${stage + 1}` : ''}</text>`;
  });
  const width = label + w + 120;
  return `<svg class="ranking" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${p.blocks.length * row + 4}" font-size="11" font-family="system-ui,sans-serif">${bars.join('')}</svg>`;
}

/** Why a stage ended, in the report's words. */
function ended(o: StageOutcome): string {
  if (o.end.by === 'guard') return `guard (${o.end.action}): ${o.end.reason}`;
  if (o.end.by === 'plateau') return `plateau at epoch ${o.end.epoch}: ${o.end.reason}`;
  return 'its budget';
}

/** The section, or '' for a run without stages: auto. */
export function autoSection(events: readonly RunEvent[]): string {
  const probe = events.find((e): e is Ev<'auto-probe'> => e.type === 'auto-probe');
  const starts = events.filter((e): e is Ev<'stage-start'> => e.type === 'stage-start');
  if (!probe && !starts.some((s) => s.stage === 'linear-probe')) return '';
  const rows = starts.map((s) => {
    const o = stageOutcome(events, s.stageIndex);
    const lr = events.find((e): e is Ev<'lr-find'> => e.type === 'lr-find' && e.stageIndex === s.stageIndex);
    const block = probe?.order[s.stageIndex - 1];
    const why =
      s.stageIndex === 0
        ? 'linear probe: the head alone'
        : probe?.flat
          ? `${block}: top-down (ranking flat)`
          : `${block}: ranked ${s.stageIndex} (${probe?.rank})`;
    const back = o?.restoredTo !== undefined ? `; back to epoch ${o.restoredTo}` : '';
    return [
      s.stage,
      o ? `${o.first}–${o.last}` : 'did not run',
      why,
      lr ? fmt(lr.lr) : '',
      o ? `${ended(o)}${back}` : '',
    ];
  });
  const head = probe
    ? `<p>Gradient probe over ${probe.batches} batches: ${esc(probe.reason)}.${probe.byLayers ? ` ${esc(probe.byLayers)}.` : ''} Bars: ${probe.rank === 'rgn' ? '‖g‖/‖w‖' : '‖g‖₁'} per block, in model order.</p>${rankingChart(probe)}`
    : '<p>The run ended before the gradient probe.</p>';
  return `<h2>stages: auto — what it chose and why</h2>${head}${table(['stage', 'epochs', 'why', 'lr found', 'ended on'], rows)}<p class="caption">chosen-schedule.yaml in the run folder holds these stages as a plain schedule.</p>`;
}
