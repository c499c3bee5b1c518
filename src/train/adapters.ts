// The run's adapters: attached as stages add them, trained or held per stage, saved with every checkpoint
// (A, B and the base kernel, so a resume is exact while the checkpoint's model.json holds the merged,
// plain model that predict and any tfjs app load), and merged into the final model.
import * as tf from '../tf.js';
import { UserError } from '../core/errors.js';
import { attachLora, type LoraAdapter, type LoraHooks, type LoraSettings } from '../model/lora.js';
import { weightName, type LayerEntry } from '../model/layers.js';
import { convFields } from '../core/tfjs-internals.js';
import type { AdapterState } from '../schedule/select.js';
import { ADAPTER_FILES, type AdapterHeader, type SavedAdapter, type SavedAdapters } from '../model/adapter-files.js';
import type { ResolvedStage } from '../schedule/plan.js';

/** A weight the run trained at some stage, for a run's adapters/ (merge writes it back). */
export interface TrainedWeight {
  path: string;
  name: string;
  variable: tf.LayerVariable;
}

/** Every weight any stage trained: whole layers (their statistics too) and picked variables. */
export function trainedWeights(layers: readonly LayerEntry[], resolved: readonly ResolvedStage[]): TrainedWeight[] {
  const out: TrainedWeight[] = [];
  for (const l of layers) {
    const whole = resolved.some((r) => r.trainable.has(l.path));
    const picked = new Set(resolved.flatMap((r) => (r.variables.get(l.path) ?? []).map((w) => w.name)));
    for (const variable of l.layer.weights) {
      const name = weightName(variable);
      if (whole || picked.has(name)) out.push({ path: l.path, name, variable });
    }
  }
  return out;
}

const kernelOf = (layer: tf.layers.Layer) => convFields(layer).kernel;

export class AdapterSet {
  readonly byPath = new Map<string, LoraAdapter>();
  private hooks: LoraHooks = { training: () => false, seed: () => 0 };

  constructor(
    private readonly layers: readonly LayerEntry[],
    /** A resumed run's adapters (its checkpoint's), attached by attachSaved. */
    private readonly saved?: SavedAdapters,
  ) {}

  /** Where training mode and dropout seeds come from (the runner's mode controller and stream). */
  bind(hooks: LoraHooks): void {
    this.hooks = hooks;
  }

  private attach(path: string, s: LoraSettings, init?: { a: tf.Tensor; b: tf.Tensor }): LoraAdapter {
    const entry = this.layers.find((l) => l.path === path);
    if (!entry) throw new UserError(`adapter layer '${path}' is not in the model`);
    const ad = attachLora(entry.layer, path, s, init ? 0 : this.hooks.seed(), this.hooks, init);
    this.byPath.set(path, ad);
    return ad;
  }

  /** A resume's adapters as its checkpoint saved them, base kernels included (no random draws). */
  attachSaved(): LoraAdapter[] {
    if (!this.saved) return [];
    return this.saved.adapters.map((s) => {
      const t = this.saved!.tensors.get(s.path)!;
      const entry = this.layers.find((l) => l.path === s.path);
      if (entry && t.base) kernelOf(entry.layer).write(t.base);
      return this.attach(s.path, s, t);
    });
  }

  /** Attaches the stage's new adapters (A drawn from the run's stream) and sets which of all train. */
  sync(states: readonly AdapterState[]): LoraAdapter[] {
    const added: LoraAdapter[] = [];
    for (const st of states) {
      let ad = this.byPath.get(st.path);
      if (!ad) added.push((ad = this.attach(st.path, st)));
      ad.a.trainable = st.trains;
      ad.b.trainable = st.trains;
    }
    return added;
  }

  variables(path: string): tf.Variable[] {
    const ad = this.byPath.get(path);
    return ad && ad.a.trainable ? [ad.a, ad.b] : [];
  }

  get size(): number {
    return this.byPath.size;
  }

  /** Runs `fn` with W + ΔW written into each adapted kernel (to save a plain model), then puts W back. */
  async withMerged<T>(fn: () => Promise<T>): Promise<T> {
    const bases = [...this.byPath.values()].map((ad) => {
      const k = kernelOf(ad.layer);
      const base = tf.clone(k.read());
      const merged = tf.tidy(() => tf.add(base, ad.delta()));
      k.write(merged);
      merged.dispose();
      return { k, base };
    });
    try {
      return await fn();
    } finally {
      for (const { k, base } of bases) {
        k.write(base);
        base.dispose();
      }
    }
  }

  /**
   * adapters.json and adapters.bin as saveModel extras: A and B, and with `base` each adapted layer's own
   * kernel (checkpoints: their model.json holds the merged kernels, a resume needs W itself).
   */
  async files(
    base: boolean,
    run?: Omit<AdapterHeader, 'format' | 'adapters' | 'weights'> & { weights: TrainedWeight[] },
  ): Promise<{ files: Record<string, unknown>; binary: Record<string, Uint8Array> }> {
    const records: SavedAdapter[] = [];
    const parts: Uint8Array[] = [];
    const push = async (t: tf.Tensor) => {
      const v = (await t.data()) as Float32Array;
      parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
    };
    for (const ad of this.byPath.values()) {
      const w = kernelOf(ad.layer).read();
      for (const t of base ? [ad.a, ad.b, w] : [ad.a, ad.b]) await push(t);
      const { path, rank, alpha, dropout } = ad;
      const shapes = { a: ad.a.shape, b: ad.b.shape, ...(base ? { base: w.shape } : {}) };
      records.push({ path, type: 'lora', rank, alpha, dropout, ...shapes });
    }
    const { weights = [], ...rest } = run ?? {};
    for (const w of weights) await push(w.variable.read());
    const header: AdapterHeader = {
      format: 'freezeflow-adapters/1',
      ...rest,
      adapters: records,
      ...(run
        ? { weights: weights.map(({ path, name, variable }) => ({ path, name, shape: variable.shape as number[] })) }
        : {}),
    };
    return { files: { [ADAPTER_FILES.json]: header }, binary: { [ADAPTER_FILES.bin]: Buffer.concat(parts) } };
  }

  /** Puts saved adapters back (the guard's rollback to checkpoints/best): base kernels, A and B. */
  restore(saved: SavedAdapters | undefined): void {
    for (const [path, ad] of this.byPath) {
      const t = saved?.tensors.get(path);
      // added after that checkpoint: its kernel there is W itself, and B = 0 makes the adapter a no-op
      if (!t) ad.b.assign(tf.zerosLike(ad.b));
      else {
        if (t.base) kernelOf(ad.layer).write(t.base);
        ad.a.assign(t.a);
        ad.b.assign(t.b);
      }
    }
  }

  /** Merges every adapter into its layer: the model becomes plain layers (the run's final model). */
  mergeAll(): void {
    for (const ad of this.byPath.values()) ad.merge();
    this.byPath.clear();
  }
}
