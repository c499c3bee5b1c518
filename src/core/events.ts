// What the runner tells the world. Reporters (progress, NDJSON, CSV, summary) subscribe; the runner never
// writes to the terminal itself.
export interface EpochMetrics {
  stage: string;
  stageIndex: number;
  epoch: number;
  lr: number;
  /** Each param group's id and the lr it used at the end of the epoch (ids as in stage-start's groups). */
  groups: { id: string; lr: number }[];
  /** Runs written before epoch-end carried ids: the lrs by position in stage-start's groups. */
  groupLrs?: number[];
  trainableParams: number;
  loss: number;
  acc: number;
  valLoss: number;
  valAcc: number;
  seconds: number;
  samplesPerSec: number;
  /** The best epoch so far by the checkpoint monitor (absent in events of older runs). */
  best?: { epoch: number; valLoss: number; valAcc: number };
}

export interface GradientLayer {
  path: string;
  norm: number;
  trainable: boolean;
}

export type RunEvent =
  | {
      type: 'run-start';
      name: string;
      backend: string;
      skippedBackends: { name: string; reason: string }[];
      /** wasm: threads the run computes on (XNNPACK's pool, or 2 where the SIMD kernels split their work), and why fewer than asked for. */
      threads?: number;
      threadsNote?: string;
      /** wasm: XNNPACK's pool, where smaller than `threads`. */
      pool?: number;
      runDir: string;
      totalEpochs: number;
      stepsPerEpoch: number;
      trainSamples: number;
      valSamples: number;
      classes: string[];
      /** Data files left out (not images, or failed to decode), with why. */
      skippedFiles: { path: string; reason: string }[];
      /** Pixel preprocessing (and resize mode for image folders), as recorded with the model. */
      input: { shape: [number, number, number]; resize?: string; preprocess: { name: string } };
      /** Set when the schedule left data.preprocess out and the model's own files decided it. */
      preprocessFrom?: string;
      resumedFrom?: { stage: number; epoch: number };
    }
  | {
      type: 'stage-start';
      stageIndex: number;
      stage: string;
      firstEpoch: number;
      lastEpoch: number;
      trainable: string[];
      trainableParams: number;
      /** Param groups: id names where the lr comes from ('stage', 'lrGroups[j]', 'lrDecay.blocks[k]'). */
      groups: { id: string; lr: number; variables: number; kept: boolean }[];
      frozenBatchNorm: number;
      skippedUnfreeze?: boolean;
      /** Layers with weights trained whole (`trainable` also lists weightless ones: a Dropout, a ReLU). */
      layers?: number;
      /** LoRA adapters that train, and single variables trained in frozen layers (train.biases / norms). */
      adapters?: number;
      variables?: number;
    }
  | {
      type: 'gradient-report';
      stageIndex: number;
      stage: string;
      step: number;
      layers: GradientLayer[];
      warnings: string[];
    }
  | {
      type: 'batch-end';
      stageIndex: number;
      epoch: number;
      batch: number;
      batches: number;
      loss: number;
      acc: number;
      lr: number;
    }
  | ({ type: 'epoch-end' } & EpochMetrics)
  | { type: 'checkpoint'; kind: 'stage' | 'epoch' | 'best' | 'top' | 'interrupt'; dir: string; epoch: number }
  | { type: 'guard'; action: 'stop-unfreezing' | 'rollback' | 'stop'; epoch: number; reason: string }
  | {
      type: 'lr-find';
      stageIndex: number;
      stage: string;
      rule: 'valley' | 'steepest';
      /** The lr the stage trains with: the rule's pick, or the carried-over lr when the curve was too short. */
      lr: number;
      fallback?: boolean;
      /** The sweep: each step's lr and smoothed loss. */
      points: { lr: number; loss: number }[];
    }
  | {
      type: 'layer-telemetry';
      stageIndex: number;
      stage: string;
      epoch: number;
      /** Trainable layers' change is measured from the stage's start, or from a resume inside the stage. */
      since: 'stage-start' | 'resume';
      /** Trainable: mean gradient norm over the epoch's steps and ‖Δw‖/‖w‖; frozen: the largest |Δw| (0). */
      layers: { path: string; trainable: boolean; gradNorm?: number; change: number }[];
    }
  | {
      /** stages: auto — the gradient probe after the linear probe: each block's ‖g‖₁ and ‖g‖/‖w‖, the order chosen. */
      type: 'auto-probe';
      blocks: { name: string; gain: number; rgn: number; params: number }[];
      /** What ordered them: ‖g‖₁ ('gain'), ‖g‖/‖w‖ ('rgn'), or 'top-down' (auto.rank). */
      rank: 'gain' | 'rgn' | 'top-down';
      /** Every block, in the order the run unfreezes them; the first `stages` are. */
      order: string[];
      stages: number;
      flat: boolean;
      reason: string;
      batches: number;
      /** The model's names gave fewer than two blocks: its layers with weights stand in (said why). */
      byLayers?: string;
    }
  | {
      /** restoreBest: the stage ended away from the best epoch, whose weights the next stage starts from. */
      type: 'restore-best';
      stageIndex: number;
      stage: string;
      epoch: number;
      bestEpoch: number;
      monitor: 'val_loss' | 'val_acc';
      value: number;
    }
  | {
      type: 'early-stop';
      stageIndex: number;
      stage: string;
      epoch: number;
      reason: string;
      /** Epochs of the stage's budget left unused: the next stage starts at epoch + 1. */
      unusedEpochs?: number;
    }
  | {
      type: 'feature-cache';
      stageIndex: number;
      used: boolean;
      /** The layer (full path) whose outputs were cached (everything up to it is frozen). */
      at?: string;
      featureShape?: number[];
      megabytes?: number;
      /** conv → BatchNorm pairs folded into one conv for computing the cache. */
      foldedBatchNorm?: number;
      /** augment.views: how many augmented views of each training image were cached. */
      views?: number;
      seconds?: number;
      reason?: string;
    }
  | { type: 'warning'; message: string }
  | {
      type: 'run-end';
      status: 'completed' | 'stopped' | 'interrupted' | 'failed';
      epochs: number;
      bestValLoss: number;
      bestValAcc: number;
      bestEpoch: number;
      finalValAcc: number;
      seconds: number;
      modelDir?: string;
      /** The epoch whose weights model/ holds, when not the last one (a last stage with restoreBest). */
      modelEpoch?: number;
      error?: string;
      /** Image folders: the decode cache's use. */
      decodeCache?: { hits: number; misses: number; peakMB: number };
      /** Live tensors at the end (flat memory means this does not grow with epochs). */
      tensors?: number;
    };

export type Listener = (e: RunEvent) => void;

/** Something that follows a run: a file, the terminal, a summary, a user's module. */
export interface Reporter {
  onEvent(e: RunEvent): void | Promise<void>;
  /** After run-end: flush and write what is left (awaited). */
  close?(): void | Promise<void>;
}

const isThenable = (v: unknown): v is Promise<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/**
 * The runner emits, reporters subscribe. A reporter that throws (or whose promise rejects) is switched off
 * with a warning to the others: a broken report never kills the training it reports on. `close` waits for
 * every reporter's pending work and its own close, in the order they were added (the terminal last).
 */
export class EventBus {
  private readonly listeners: Listener[] = [];
  private readonly reporters: { name: string; r: Reporter; off: boolean; pending: Promise<unknown>[] }[] = [];
  on(l: Listener): void {
    this.listeners.push(l);
  }
  add(name: string, r: Reporter): void {
    this.reporters.push({ name, r, off: false, pending: [] });
  }
  emit(e: RunEvent): void {
    for (const l of this.listeners) l(e);
    for (const rep of this.reporters) if (!rep.off) this.guarded(rep, () => rep.r.onEvent(e));
  }
  async close(): Promise<void> {
    for (const rep of this.reporters) {
      if (rep.off) continue;
      await Promise.all(rep.pending);
      if (!rep.off) await this.settle(rep, () => rep.r.close?.());
      rep.off = true; // closed: later warnings go to the reporters still open
    }
  }
  private guarded(rep: (typeof this.reporters)[number], f: () => unknown): void {
    try {
      const out = f();
      if (isThenable(out)) rep.pending.push(out.then(undefined, (err: unknown) => this.fail(rep, err)));
    } catch (err) {
      this.fail(rep, err);
    }
  }
  private async settle(rep: (typeof this.reporters)[number], f: () => unknown): Promise<void> {
    try {
      await f();
    } catch (err) {
      this.fail(rep, err);
    }
  }
  private fail(rep: { name: string; off: boolean }, err: unknown): void {
    if (rep.off) return;
    rep.off = true;
    const why = err instanceof Error ? err.message : String(err);
    this.emit({
      type: 'warning',
      message: `the ${rep.name} reporter failed and is switched off: ${why.split('\n')[0]}`,
    });
  }
}

/** "wasm, 2 threads" for headers; the note says why fewer threads than asked for. */
export function backendLabel(e: { backend: string; threads?: number; threadsNote?: string }): string {
  if (e.threads === undefined) return e.backend;
  return `${e.backend}, ${e.threads} thread${e.threads === 1 ? '' : 's'}${e.threadsNote ? ` (${e.threadsNote})` : ''}`;
}
