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

/** Index ranges [first, last] of blocks over consecutive keys: a key that comes back pulls the keys between in. */
function spans(keys: readonly string[]): [number, number][] {
  const last = new Map(keys.map((k, i) => [k, i]));
  const out: [number, number][] = [];
  let start = 0;
  let reach = -1;
  for (let i = 0; i < keys.length; i++) {
    reach = Math.max(reach, last.get(keys[i]!)!);
    if (i < reach) continue;
    out.push([start, i]);
    start = i + 1;
  }
  return out;
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

/**
 * Blocks over layer paths alone, as a run's events name them (the layers with weights): the same keys,
 * with everything under head/ as one block 'head'. Order kept; for reports that group rows.
 */
export function pathBlocks(paths: readonly string[]): { name: string; paths: string[] }[] {
  const keys = paths.map((p) => (p.startsWith('head/') ? 'head' : blockKey(p)));
  return spans(keys).map(([first, last]) => ({ name: keys[first]!, paths: paths.slice(first, last + 1) }));
}
