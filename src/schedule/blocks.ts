// A backbone's blocks, from its layer names alone (pure): fastai's layer groups for `lastBlocks: N`, and
// the rows `init --model` names. Each name's block key is its leading words up to the first one with a
// number ('block_12_expand' → block_12, 'layer4_1_conv2' → layer4, 'features.3.conv' → features.3) under
// its parent path; a key that comes back after others (Conv1, bn_Conv1, Conv1_relu) pulls what lies
// between into one block, and layers without weights join the block before them.
import type { LayerInfo } from './plan-types.js';
import { blockKey, spans } from '../core/blocks.js';

export { blockKey } from '../core/blocks.js';

export interface Block {
  name: string;
  /** Layer paths, in model order. */
  layers: string[];
  params: number;
}

/** The body's blocks (the new head left out), input to output. */
export function backboneBlocks(layers: readonly LayerInfo[]): Block[] {
  const body = layers.filter((l) => !l.isHead);
  const keys = body.map((l) => blockKey(l.path));
  const blocks: Block[] = [];
  for (const [first, last] of spans(keys)) {
    const members = body.slice(first, last + 1);
    const params = members.reduce((n, l) => n + l.trainableParams + l.nonTrainableParams, 0);
    const prev = blocks.at(-1);
    if (params === 0 && prev) prev.layers.push(...members.map((l) => l.path));
    else blocks.push({ name: keys[first]!, layers: members.map((l) => l.path), params });
  }
  return blocks;
}

/** The body's blocks and then the new head as one block named 'head' (when it has layers). */
export function modelBlocks(layers: readonly LayerInfo[]): Block[] {
  const head = layers.filter((l) => l.isHead);
  const params = head.reduce((n, l) => n + l.trainableParams + l.nonTrainableParams, 0);
  const tail = head.length ? [{ name: 'head', layers: head.map((l) => l.path), params }] : [];
  return [...backboneBlocks(layers), ...tail];
}
