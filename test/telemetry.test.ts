// Per-layer telemetry checked against independent numbers: the gradient report's per-step norms (another
// code path), the weights the run saved (stage checkpoint → final model), and frozen layers at exactly 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ndjson, tempDir, tinySchedule, writeSchedule } from './helpers.js';

/** One layer's weights from a saved tfjs model (model.json manifest + weights.bin). */
function savedWeights(dir: string, layer: string): Float32Array[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].weights as {
    name: string;
    shape: number[];
  }[];
  const bin = readFileSync(join(dir, 'weights.bin'));
  const out: Float32Array[] = [];
  let at = 0;
  for (const w of manifest) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.name.split('/').slice(0, -1).join('/').endsWith(layer))
      out.push(new Float32Array(bin.buffer.slice(bin.byteOffset + at, bin.byteOffset + at + 4 * n)));
    at += 4 * n;
  }
  return out;
}

test('telemetry: per-layer gradient norms = the RMS of the gradient report per step; ‖Δw‖/‖w‖ from the saved weights; frozen = 0', () => {
  const dir = tempDir('ff-telemetry-');
  const f = writeSchedule(
    dir,
    tinySchedule(
      64,
      `  - { name: head, epochs: 1, lr: 1.0e-3 }\n  - { name: last, epochs: 2, unfreeze: ['layer3_0_conv*'], lr: 1.0e-3 }\n`,
    )
      .replace('batchSize: 32', 'batchSize: 16')
      .replace('data:', 'training: { gradientReport: 1 }\ndata:'),
  );
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--json', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout);
  const tele = events.filter((e) => e.type === 'layer-telemetry');
  assert.deepEqual(
    tele.map((e) => e.epoch),
    [1, 2, 3],
  );
  const steps = 4; // 64 samples / 16
  const reports = events.filter((e) => e.type === 'gradient-report' && e.stage === 'last');
  for (const [k, t] of tele.slice(1).entries()) {
    const inEpoch = reports.filter((g) => g.step >= k * steps && g.step < (k + 1) * steps);
    assert.equal(inEpoch.length, steps);
    for (const l of t.layers.filter((x: { trainable: boolean }) => x.trainable)) {
      // the root mean square over the epoch's steps of the layer's gradient norm
      const mean = Math.sqrt(
        inEpoch.reduce(
          (s: number, g: { layers: { path: string; norm: number }[] }) =>
            s + g.layers.find((x) => x.path === l.path)!.norm ** 2,
          0,
        ) / steps,
      );
      assert.ok(
        Math.abs(l.gradNorm - mean) <= 1e-5 * mean + 1e-9,
        `${l.path} epoch ${t.epoch}: ${l.gradNorm} vs ${mean}`,
      );
    }
    for (const l of t.layers.filter((x: { trainable: boolean }) => !x.trainable)) assert.equal(l.change, 0, l.path);
  }
  // movement of a trainable layer over stage 'last', from the stage's checkpoint and the final model
  const before = savedWeights(join(out, 'checkpoints/stage-1-head'), 'layer3_0_conv1');
  const after = savedWeights(join(out, 'model'), 'layer3_0_conv1');
  assert.ok(before.length > 0 && before.length === after.length);
  let d = 0;
  let n = 0;
  before.forEach((b, i) => b.forEach((x, k) => ((d += (after[i]![k]! - x) ** 2), (n += x * x))));
  const last = tele.at(-1).layers.find((l: { path: string }) => l.path === 'layer3_0_conv1');
  assert.ok(last.change > 0);
  assert.ok(Math.abs(last.change - Math.sqrt(d / n)) <= 1e-6 * last.change, `${last.change} vs ${Math.sqrt(d / n)}`);
  // the layers the stage keeps frozen are all there, with 0
  const frozen = tele.at(-1).layers.filter((l: { trainable: boolean }) => !l.trainable);
  assert.ok(frozen.some((l: { path: string }) => l.path === 'layer3_0_bn1'));
});
