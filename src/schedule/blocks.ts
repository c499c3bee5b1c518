// A backbone's blocks, from its layer names alone (pure): fastai's layer groups for `lastBlocks: N`, and
// the rows `init --model` names. Each name's block key is its leading words up to the first one with a
// number ('block_12_expand' → block_12, 'layer4_1_conv2' → layer4, 'features.3.conv' → features.3) under
// its parent path; a key that comes back after others (Conv1, bn_Conv1, Conv1_relu) pulls what lies
// between into one block, and layers without weights join the block before them.
import type { LayerInfo } from './plan.js';

export interface Block {
  name: string;
  /** Layer paths, in model order. */
  layers: string[];
  params: number;
}

/** The block key of one layer path. */
export function blockKey(path: string): string {
  const cut = path.lastIndexOf('/');
  const [parent, name] = cut < 0 ? ['', path] : [path.slice(0, cut + 1), path.slice(cut + 1)];
  const words = name.split(/[._]/);
  const numbered = words.findIndex((w) => /\d/.test(w));
  // a word that is only a number ('features.3') belongs to the word before it
  const end = numbered < 0 ? 1 : numbered + 1;
  return (
    parent +
    name
      .split(/(?<=[._])/)
      .slice(0, end)
      .join('')
      .replace(/[._]$/, '')
  );
}

/** The body's blocks (the new head left out), input to output. */
export function backboneBlocks(layers: readonly LayerInfo[]): Block[] {
  const body = layers.filter((l) => !l.isHead);
  const keys = body.map((l) => blockKey(l.path));
  const last = new Map(keys.map((k, i) => [k, i]));
  const blocks: Block[] = [];
  let start = 0;
  let reach = -1;
  for (let i = 0; i < body.length; i++) {
    reach = Math.max(reach, last.get(keys[i]!)!);
    if (i < reach) continue;
    const members = body.slice(start, i + 1);
    const params = members.reduce((n, l) => n + l.trainableParams + l.nonTrainableParams, 0);
    const prev = blocks.at(-1);
    if (params === 0 && prev) {
      prev.layers.push(...members.map((l) => l.path));
    } else blocks.push({ name: keys[start]!, layers: members.map((l) => l.path), params });
    start = i + 1;
  }
  return blocks;
}
