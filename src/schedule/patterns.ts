// Layer-name patterns. A layer's full path is its nesting chain joined by '/', e.g.
// 'sequential_1/model1/block_16_expand'. A glob matches any contiguous run of path segments, so a pattern
// naming a nested model ('model1') or a parent ('head/*') covers everything inside it, and 'layer4*'
// matches 'layer4_0_conv1' at any depth. '*' and '?' stay inside one segment; '**' crosses segments;
// braces and character classes work as in every glob tool (picomatch): 'block_1{5,6}*', 'layer[23]*'.
// 're:<regex>' is tested against the full path (unanchored). Dots are module separators of models imported
// from PyTorch ('layer4.0.conv1'): a pattern naming a module ('layer4', 'layer4.0') covers the layers inside
// it, as PyTorch's named_modules nests them; '*' matches dots ('layer4.*', '*.bn1').
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
  const runs = (path: string) => {
    const segs = path.split('/');
    for (let i = 0; i < segs.length; i++)
      for (let j = i + 1; j <= segs.length; j++) if (whole(segs.slice(i, j).join('/'))) return true;
    return false;
  };
  return (path) => runs(path) || moduleAncestors(path).some(runs);
}

/** 'a/layer4.0.conv1' → ['a/layer4', 'a/layer4.0']: the PyTorch modules a dotted layer name sits in. */
export function moduleAncestors(path: string): string[] {
  const cut = path.lastIndexOf('/') + 1;
  const name = path.slice(cut);
  const out: string[] = [];
  for (let i = name.indexOf('.'); i > 0; i = name.indexOf('.', i + 1)) out.push(path.slice(0, cut) + name.slice(0, i));
  return out;
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
