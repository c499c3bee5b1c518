import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, probeWebgpu } from '../src/backend/index.js';
import { loadModel } from '../src/model/io.js';
import { attachHead, cutModel } from '../src/model/surgery.js';
import { listLayers } from '../src/model/layers.js';
import { parseSchedule } from '../src/schedule/load.js';
import { buildPlan, resolvePlan } from '../src/schedule/plan.js';
import { loadBuiltinDataset } from '../src/data/mnist.js';
import { memorySource, split } from '../src/data/dataset.js';
import { EventBus, type RunEvent } from '../src/train/events.js';
import { runStages } from '../src/train/runner.js';

// Runs only where `webgpu` + `@tensorflow/tfjs-backend-webgpu` are installed and Dawn finds an adapter.
const probe = await probeWebgpu();

test(
  'webgpu: a short run with frozen and unfrozen layers matches the cpu backend (loss and weights)',
  { skip: probe.adapter === undefined && `webgpu unavailable: ${probe.reason}` },
  async () => {
    const ds = split(loadBuiltinDataset('mnist-5-9'), 0.5, 2, 64);
    const run = async (backend: 'webgpu' | 'cpu') => {
      await initBackend(backend);
      const model = attachHead(
        cutModel(await loadModel('builtin:resnet-mini')),
        [{ dense: { units: 'auto', activation: 'softmax' } }],
        5,
      );
      const layers = listLayers(model);
      for (const l of layers.filter((e) => e.path.startsWith('head/')))
        l.layer.setWeights(l.layer.getWeights().map((w) => tf.fill(w.shape, 0.01)));
      const plan = buildPlan(
        parseSchedule(`model: { source: x }
data: { source: y, batchSize: 16, shuffle: false, validation: { split: 0.2 } }
training: { cacheFeatures: false }
stages:
  - { name: head, epochs: 1, lr: 0.003 }
  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 0.001 }
`).schedule,
        't',
      );
      const losses: number[] = [];
      const bus = new EventBus();
      bus.on((e: RunEvent) => (e.type === 'batch-end' ? losses.push(e.loss) : undefined));
      await runStages({
        plan,
        resolved: resolvePlan(plan, layers),
        model,
        data: { train: memorySource(ds.train), val: memorySource(ds.val) },
        bus,
        runDir: '',
      });
      const w = layers.find((l) => l.path === 'layer3_0_conv2')!.layer.getWeights()[0]!;
      return { losses, w: Array.from(w.dataSync()) };
    };
    const gpu = await run('webgpu');
    const cpu = await run('cpu');
    for (let i = 0; i < cpu.losses.length; i++)
      assert.ok(Math.abs(gpu.losses[i]! - cpu.losses[i]!) < 1e-3 * Math.max(1, cpu.losses[i]!), `loss ${i}`);
    const scale = Math.max(...cpu.w.map(Math.abs));
    const err = Math.max(...gpu.w.map((v, i) => Math.abs(v - cpu.w[i]!))) / scale;
    assert.ok(err < 1e-3, `weights: relative error ${err}`);
  },
);
