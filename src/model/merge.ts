// `freezeflow merge BASE ADAPTERS`: the trained model again from the pretrained one and a run's adapters/
// (LoRA A and B plus every other weight the run trained): cut and head as the run had them, trained
// weights written in, then W + (alpha/rank)·A·B merged by the same code the run's own save uses.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { EXIT_USAGE, UserError } from '../core/errors.js';
import { readAdapters, type SavedAdapters } from './adapter-files.js';
import { loadModel } from './io.js';
import { listLayers, weightName, type LayerEntry } from './layers.js';
import { attachLora } from './lora.js';
import { attachHead, cutModel } from './surgery.js';

/** ADAPTERS as given: a run directory (its adapters/) or the adapters folder itself. */
export function adapterDir(where: string): string {
  for (const dir of [join(where, 'adapters'), where]) if (existsSync(join(dir, 'adapters.json'))) return dir;
  throw new UserError(
    `${where}: no adapters.json here or in ${join(where, 'adapters')}; give a run directory of a run with adapters, or its adapters/ folder`,
    EXIT_USAGE,
  );
}

function weightOf(byPath: Map<string, LayerEntry>, path: string, name: string, base: string): tf.LayerVariable {
  const l = byPath.get(path);
  const w = l?.layer.weights.find((v) => weightName(v) === name);
  if (!w)
    throw new UserError(
      `${base} has no ${l ? `weight '${name}' in` : 'layer'} '${path}' that the adapters were trained on; give the model the run started from (its model.source)`,
      EXIT_USAGE,
    );
  return w;
}

function checkShape(w: tf.LayerVariable, shape: readonly number[], what: string, base: string): void {
  if (w.shape.join('×') !== shape.join('×'))
    throw new UserError(
      `${what} is ${shape.join('×')} in the adapters but ${w.shape.join('×')} in ${base}: not the model they were trained on`,
      EXIT_USAGE,
    );
}

/** The merged model; every mismatch between BASE and the adapters is one UserError (exit 2). */
export async function mergeAdapters(
  base: string,
  adapters: string,
): Promise<{ model: tf.LayersModel; saved: SavedAdapters }> {
  const saved = readAdapters(adapterDir(adapters))!;
  const h = saved.header;
  let model = await loadModel(base, process.cwd());
  if (h.model) model = attachHead(cutModel(model, h.model.cutAt), h.model.head, h.labels?.length ?? 2);
  const byPath = new Map(listLayers(model).map((l) => [l.path, l]));
  // the trained weights first: a layer unfrozen after its adapter was added trained its W too
  for (const w of h.weights ?? []) {
    const v = weightOf(byPath, w.path, w.name, base);
    checkShape(v, w.shape, `'${w.path}' ${w.name}`, base);
    v.write(saved.weights.get(`${w.path}/${w.name}`)!);
  }
  for (const a of saved.adapters) {
    const kernel = weightOf(byPath, a.path, 'kernel', base);
    checkShape(kernel, [...a.a.slice(0, -1), a.b[1]!], `'${a.path}' kernel`, base);
    const t = saved.tensors.get(a.path)!;
    const hooks = { training: () => false, seed: () => 0 };
    attachLora(byPath.get(a.path)!.layer, a.path, a, 0, hooks, t).merge();
  }
  return { model, saved };
}
