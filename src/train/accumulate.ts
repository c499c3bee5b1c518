// Gradient accumulation: the gradients of several batches, each weighted by its size, averaged into one
// optimizer step — the gradient of the mean loss over all of them, as one large batch would give (exactly,
// up to float rounding, while no layer computes batch statistics: frozen BatchNorm runs in inference mode).
import * as tf from '../tf.js';

export class GradAccumulator {
  private readonly sums = new Map<string, tf.Tensor>();
  private samples = 0;
  /** The variables as they were before the group's first batch (undone if a step was not finite). */
  held?: Map<tf.Variable, tf.Tensor>;

  /** One batch: `grads` of its mean loss, `n` samples. */
  add(grads: tf.NamedTensorMap, n: number): void {
    for (const [name, g] of Object.entries(grads)) {
      const prev = this.sums.get(name);
      this.sums.set(
        name,
        tf.tidy(() => (prev ? tf.add(prev, tf.mul(g, n)) : tf.mul(g, n))),
      );
      prev?.dispose();
    }
    this.samples += n;
  }

  /** Σ nᵢ·gᵢ / Σ nᵢ; the caller disposes it. */
  mean(): tf.NamedTensorMap {
    return Object.fromEntries([...this.sums].map(([name, s]) => [name, tf.div(s, this.samples)]));
  }

  /** Ready for the next group (the held variables are the caller's to dispose or commit). */
  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.samples = 0;
    this.held = undefined;
  }
}
