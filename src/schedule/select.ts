// What trains below the layer level: variables picked by kind in otherwise frozen layers (BitFit's
// biases, norm-only tuning's γ and β), and LoRA adapters, which stay from the stage that adds them on.
// Pure: layers come as LayerInfo, errors as PatternError with the schedule path they belong to.
import { LORA_CLASSES, LORA_REFUSED, loraParams, maxLoraRank } from './adapters/lora.js';
import type { AdapterPlan, LayerInfo, StagePlan, WeightInfo } from './plan-types.js';

export type { WeightInfo };

/** An adapter as a stage sees it: on one layer, training or (after a later freeze) only applied. */
export interface AdapterState {
  path: string;
  type: 'lora';
  rank: number;
  alpha: number;
  dropout: number;
  /** The stage that added it. */
  stage: number;
  trains: boolean;
  params: number;
}

export const NORM_CLASSES = new Set(['BatchNormalization', 'LayerNormalization']);

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Which weights `train.biases` / `train.norms` select in a layer (by name, only trainable ones). */
export function selectedWeights(l: LayerInfo, flags: { biases: boolean; norms: boolean }): WeightInfo[] {
  return (l.weights ?? []).filter(
    (w) =>
      w.trainable &&
      ((flags.biases && w.name === 'bias') ||
        (flags.norms && NORM_CLASSES.has(l.className) && (w.name === 'gamma' || w.name === 'beta'))),
  );
}

/** Selected variables of layers that are not trainable as a whole: path → weight names. */
export function variableSelection(
  layers: readonly LayerInfo[],
  whole: ReadonlySet<string>,
  flags: { biases: boolean; norms: boolean },
): Map<string, WeightInfo[]> {
  const out = new Map<string, WeightInfo[]>();
  if (!flags.biases && !flags.norms) return out;
  for (const l of layers) {
    if (whole.has(l.path)) continue;
    const ws = selectedWeights(l, flags);
    if (ws.length > 0) out.set(l.path, ws);
  }
  return out;
}

export const weightsSize = (ws: readonly WeightInfo[]): number => ws.reduce((n, w) => n + size(w.shape), 0);

/** Why a layer cannot take a LoRA adapter of this rank, or undefined when it can. */
export function loraRefusal(l: LayerInfo, rank: number): string | undefined {
  if (!LORA_CLASSES.has(l.className)) {
    const why = LORA_REFUSED[l.className];
    return `'${l.path}' is a ${l.className}${why ? `: ${why}` : ', and LoRA takes Dense and Conv2D layers'}`;
  }
  const kernel = l.weights?.find((w) => w.name === 'kernel');
  if (!kernel) return `'${l.path}' (${l.className}) has no kernel to adapt`;
  const max = maxLoraRank(kernel.shape);
  if (rank > max)
    return `rank ${rank} is larger than '${l.path}' allows (${max}, the smaller side of its ${kernel.shape.join('×')} kernel as a matrix); lower rank`;
  return undefined;
}

/** One adapter entry on the layers its patterns matched: adaptable layers, or the reason none is. */
export function adapterStates(
  a: AdapterPlan,
  stage: StagePlan,
  hits: readonly LayerInfo[],
): { states: AdapterState[]; refusals: string[] } {
  // a glob over a block also matches its BatchNorm and activation layers: only layers with weights that
  // LoRA refuses by name (a depthwise conv), or a rank too large, are errors
  const refusals: string[] = [];
  const states: AdapterState[] = [];
  for (const l of hits) {
    const why = loraRefusal(l, a.rank);
    const weightless = !l.weights?.some((w) => w.name === 'kernel');
    if (why && (LORA_REFUSED[l.className] || LORA_CLASSES.has(l.className))) refusals.push(why);
    else if (!why) {
      const kernel = l.weights!.find((w) => w.name === 'kernel')!.shape;
      const { type, rank, alpha, dropout } = a;
      states.push({
        path: l.path,
        type,
        rank,
        alpha,
        dropout,
        stage: stage.index,
        trains: true,
        params: loraParams(kernel, rank),
      });
    } else if (!weightless && hits.length === 1) refusals.push(why);
  }
  if (states.length === 0 && refusals.length === 0)
    refusals.push(
      `matches no Dense or Conv2D layer (it matches ${hits
        .slice(0, 3)
        .map((l) => `'${l.path}' (${l.className})`)
        .join(', ')}${hits.length > 3 ? ', …' : ''})`,
    );
  return { states, refusals };
}
