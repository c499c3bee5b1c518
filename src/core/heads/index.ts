// The head-layer kinds. A new kind: one file beside this one (or a definition in one), and one entry in
// HEADS.
import type { Static } from '@sinclair/typebox';
import { schemasUnion } from '../typebox.js';
import { activation } from './activation.js';
import { batchNorm } from './batch-norm.js';
import { dense } from './dense.js';
import { dropout } from './dropout.js';
import type { HeadContext, TfLayers } from './kind.js';
import { flatten, globalAveragePooling, globalMaxPooling } from './pooling.js';

export const HEADS = [dense, dropout, batchNorm, activation, flatten, globalAveragePooling, globalMaxPooling] as const;

export const HeadLayer = schemasUnion(HEADS, {
  description: 'One layer of the new head, e.g. `{dense: {units: 256, activation: relu}}`.',
});
export type HeadLayerSpec = Static<typeof HeadLayer>;

interface AnyHead {
  key: string;
  prefix: string;
  pools?: boolean;
  build<L>(layers: TfLayers<L>, settings: object, ctx: HeadContext): L;
  describe(settings: object): string;
}

/** The kind of one head layer and its settings; an unknown key is an error, never a fallback. */
export function headKind(spec: HeadLayerSpec | Record<string, object>): { kind: AnyHead; settings: object } {
  const key = Object.keys(spec)[0] ?? '';
  const kind = HEADS.find((h) => h.key === key) as AnyHead | undefined;
  if (!kind) throw new Error(`unknown head layer '${key}' (known: ${HEADS.map((h) => h.key).join(', ')})`);
  return { kind, settings: (spec as Record<string, object>)[key]! };
}

export const describeHead = (head: readonly HeadLayerSpec[]): string =>
  head
    .map((l) => {
      const { kind, settings } = headKind(l);
      return kind.describe(settings);
    })
    .join(' → ');
