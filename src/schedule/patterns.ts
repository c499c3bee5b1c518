// Layer-name patterns. A layer's full path is its nesting chain joined by '/', e.g.
// 'sequential_1/model1/block_16_expand'. A glob matches any contiguous run of path segments, so a pattern
// naming a nested model ('model1') or a parent ('head/*') covers everything inside it, and 'layer4*'
// matches 'layer4_0_conv1' at any depth. '*' and '?' stay inside one segment; '**' crosses segments;
// braces and character classes work as in every glob tool (picomatch): 'block_1{5,6}*', 'layer[23]*'.
// 're:<regex>' is tested against the full path (unanchored).
import picomatch from 'picomatch';

export interface LayerPattern {
  source: string;
  test(path: string): boolean;
}

/**
 * A glob (picomatch: `*`, `?`, `**`, braces `{15,16}`, classes `[23]`) tested against every contiguous run
 * of the path's segments, so it matches at any depth and a parent's name covers its children.
 */
function globMatcher(glob: string): (path: string) => boolean {
  const whole = picomatch(glob, { dot: true });
  return (path) => {
    const segs = path.split('/');
    for (let i = 0; i < segs.length; i++)
      for (let j = i + 1; j <= segs.length; j++) if (whole(segs.slice(i, j).join('/'))) return true;
    return false;
  };
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
  let test: (path: string) => boolean;
  try {
    test = globMatcher(source);
  } catch (err) {
    throw new Error(`invalid pattern '${source}': ${(err as Error).message}`);
  }
  return { source, test };
}

export function matchAny(patterns: readonly LayerPattern[], path: string): boolean {
  return patterns.some((p) => p.test(path));
}
