// Layer-name patterns. A layer's full path is its nesting chain joined by '/', e.g.
// 'sequential_1/model1/block_16_expand'. A glob matches any contiguous run of path segments, so a pattern
// naming a nested model ('model1') or a parent ('head/*') covers everything inside it, and 'layer4*'
// matches 'layer4_0_conv1' at any depth. '*' and '?' stay inside one segment; '**' crosses segments.
// 're:<regex>' is tested against the full path (unanchored).

export interface LayerPattern {
  source: string;
  test(path: string): boolean;
}

function globToRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`(?:^|/)${re}(?:/|$)`);
}

/** Compile a pattern; throws Error with a readable message for an invalid regular expression. */
export function compilePattern(source: string): LayerPattern {
  if (source.startsWith('re:')) {
    let re: RegExp;
    try {
      re = new RegExp(source.slice(3));
    } catch (err) {
      throw new Error(`invalid regular expression '${source.slice(3)}': ${(err as Error).message}`);
    }
    return { source, test: (p) => re.test(p) };
  }
  const re = globToRegex(source);
  return { source, test: (p) => re.test(p) };
}

export function matchAny(patterns: readonly LayerPattern[], path: string): boolean {
  return patterns.some((p) => p.test(path));
}
