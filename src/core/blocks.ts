// Blocks from layer names alone (pure): each name's block key is its leading words up to the first one
// with a number ('block_12_expand' → block_12, 'layer4_1_conv2' → layer4, 'features.3.conv' → features.3)
// under its parent path; a key that comes back after others (Conv1, bn_Conv1, Conv1_relu) pulls what lies
// between into one block. Reports group rows with it; schedule/blocks.ts builds fastai's layer groups on it.

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
export function spans(keys: readonly string[]): [number, number][] {
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

/** The longest path prefix ending in '/' that every name shares ('' when none): a nested model's parents. */
export function commonParent(names: readonly string[]): string {
  if (names.length === 0) return '';
  let p = names[0]!.slice(0, names[0]!.lastIndexOf('/') + 1);
  while (p && !names.every((n) => n.startsWith(p))) p = p.slice(0, p.slice(0, -1).lastIndexOf('/') + 1);
  return p;
}

/**
 * Blocks over layer paths alone, as a run's events name them (the layers with weights): the same keys,
 * with everything under head/ as one block 'head'. Order kept; for reports that group rows.
 */
export function pathBlocks(paths: readonly string[]): { name: string; paths: string[] }[] {
  const keys = paths.map((p) => (p.startsWith('head/') ? 'head' : blockKey(p)));
  return spans(keys).map(([first, last]) => ({ name: keys[first]!, paths: paths.slice(first, last + 1) }));
}
