// npm run pretrain: trains builtin:resnet-mini on MNIST digits 0–4 (seeded) and writes
// models/resnet-mini/ (model.json, weights.bin, labels.json, metrics.json). The weights are committed.
import { join } from 'node:path';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backend/index.js';
import { loadBuiltinDataset } from '../src/data/mnist.js';
import { split, count, type Dataset } from '../src/data/dataset.js';
import { buildResnetMini } from '../src/model/resnet-mini.js';
import { saveModel } from '../src/model/io.js';
import { packageRoot } from '../src/core/paths.js';

const EPOCHS = Number(process.env['PRETRAIN_EPOCHS'] ?? 6);
const SEED = 7;

function tensors(d: Dataset): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return {
    x: tf.tensor4d(d.x, [count(d), 28, 28, 1]),
    y: tf.oneHot(tf.tensor1d(d.y, 'int32'), d.classes.length) as tf.Tensor2D,
  };
}

async function main(): Promise<void> {
  const backend = await initBackend((process.env['FREEZEFLOW_BACKEND'] as 'wasm' | undefined) ?? 'auto');
  process.stdout.write(`backend: ${backend.name}\n`);
  const ds = loadBuiltinDataset('mnist-0-4');
  const { train, val } = split(ds, 0.2, SEED);
  process.stdout.write(`train ${count(train)}  held-out ${count(val)}\n`);
  const model = buildResnetMini(ds.classes.length, SEED);
  model.compile({ optimizer: tf.train.adam(2e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t = tensors(train);
  const v = tensors(val);
  const start = Date.now();
  // Constant lr, then one last epoch at a tenth of it to settle the weights and BN statistics.
  const log = (e: number, logs?: tf.Logs) =>
    process.stdout.write(
      `epoch ${e}/${EPOCHS} loss ${logs?.['loss']?.toFixed(4)} acc ${logs?.['acc']?.toFixed(4)} val_loss ${logs?.['val_loss']?.toFixed(4)} val_acc ${logs?.['val_acc']?.toFixed(4)} (${((Date.now() - start) / 1000).toFixed(0)} s)\n`,
    );
  await model.fit(t.x, t.y, {
    epochs: EPOCHS - 1,
    batchSize: 64,
    shuffle: true,
    validationData: [v.x, v.y],
    callbacks: { onEpochEnd: async (e, logs) => void log(e + 1, logs) },
  });
  (model.optimizer as unknown as { learningRate: number }).learningRate = 2e-4;
  const hist = await model.fit(t.x, t.y, {
    epochs: 1,
    batchSize: 64,
    shuffle: true,
    validationData: [v.x, v.y],
    callbacks: { onEpochEnd: async (_e, logs) => void log(EPOCHS, logs) },
  });
  const valAcc = hist.history['val_acc']!.at(-1) as number;
  const dir = join(packageRoot(), 'models/resnet-mini');
  await saveModel(model, dir, {
    labels: ds.classes,
    files: {
      'metrics.json': {
        data: 'builtin:mnist-0-4',
        split: { validation: 0.2, seed: SEED },
        trainSamples: count(train),
        heldOutSamples: count(val),
        epochs: EPOCHS,
        heldOutAccuracy: valAcc,
        backend: backend.name,
        seconds: (Date.now() - start) / 1000,
      },
    },
  });
  process.stdout.write(`held-out accuracy ${(valAcc * 100).toFixed(2)} %  → ${dir}\n`);
}

main().catch((err) => {
  process.stderr.write(`pretrain: ${(err as Error).stack}\n`);
  process.exit(1);
});
