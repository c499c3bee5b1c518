// The webgpu backend end to end, through the CLI, against wasm. Runs where `webgpu` and
// `@tensorflow/tfjs-backend-webgpu` are installed and Dawn finds an adapter (any machine with Mesa's
// lavapipe: scripts/install-webgpu.sh); FREEZEFLOW_REQUIRE_WEBGPU=1 (CI) turns a skip into a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { probeWebgpu, isSoftwareAdapter } from '../src/backend/webgpu.js';
import { loadBuiltinDataset } from '../src/data/mnist.js';
import { cli, eventsOf, interruptWhen, ndjson, tempDir, writeSchedule } from './helpers.js';

const probe = await probeWebgpu();
const required = process.env['FREEZEFLOW_REQUIRE_WEBGPU'] === '1';
const skip = probe.adapter === undefined && !required && `webgpu unavailable: ${probe.reason}`;

const env = { XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? tempDir('ff-xdg-') };
const train = (args: string[]) => cli(['train', '--json', ...args], { env });

/** Features in one schedule: cache + BN folding, warm-up, lr groups, lr decay, every optimizer, guard. */
const FEATURES = `model:
  source: builtin:resnet-mini
  head:
    - dense: { units: 32, activation: relu }
    - dropout: { rate: 0.3 }
    - dense: { units: auto, activation: softmax }
data: { source: builtin:mnist-5-9, samples: 96, batchSize: 32, seed: 7, validation: { split: 0.02 } }
guard: { patience: 1, action: stop-unfreezing }
stages:
  - { name: head, epochs: 1, lr: 3.0e-3, scheduler: { type: cosine, warmup: 1, stepPer: batch } }
  - name: last
    epochs: 1
    unfreeze: ['layer3*']
    optimizer: adamw
    weightDecay: 1.0e-2
    lr: 1.0e-3
    lrGroups: [{ layers: ['head/*'], lrMultiplier: 3 }]
    scheduler: { type: onecycle, stepPer: batch }
  - name: mid # rmsprop at a high lr: val loss rises and the guard stops unfreezing
    epochs: 1
    unfreeze: ['layer2*']
    optimizer: rmsprop
    lr: 2.0e-2
    lrDecay: { factor: 0.5, blocks: ['layer2*', 'layer3*', 'head/*'] }
    scheduler: { type: exponential, gamma: 0.9 }
  - name: all # its unfreeze is skipped (the guard); early stopping (minDelta 10) ends it after 2 epochs
    epochs: 3
    unfreeze: ['*']
    optimizer: { type: sgd, momentum: 0.9, nesterov: true }
    weightDecay: 1.0e-3
    lr: 1.0e-3
    scheduler: { type: step, stepSize: 1, gamma: 0.5, stepPer: batch }
    earlyStopping: { patience: 1, minDelta: 10 }
`;

/** BatchNorm trained, the whole network unfrozen (no feature cache), L2 decay. */
const BN_TRAIN = `model: { source: builtin:resnet-mini }
data: { source: builtin:mnist-5-9, samples: 64, batchSize: 32, seed: 3, validation: { split: 0.02 } }
training: { batchNorm: train }
stages:
  - { name: head, epochs: 1, lr: 3.0e-3 }
  - { name: all, epochs: 1, unfreeze: ['*'], optimizer: adam, weightDecay: 1.0e-4, weightDecayMode: l2, lr: 1.0e-3 }
`;

type Ev = { type: string; [k: string]: unknown };

/** Weights of a saved model by name (model.json manifest + weights.bin). */
function savedWeights(dir: string): Map<string, Float32Array> {
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  };
  const out = new Map<string, Float32Array>();
  for (const group of manifest.weightsManifest) {
    const buf = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    let at = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      out.set(w.name, all.slice(at, at + n));
      at += n;
    }
  }
  return out;
}

function epochEnds(events: Ev[]) {
  return eventsOf(events, 'epoch-end');
}

/** Both backends on one schedule: the same epochs, losses within 1e-3 relative, and the weights. */
function trainBoth(yaml: string) {
  const dir = tempDir('ff-webgpu-');
  const f = writeSchedule(dir, yaml);
  const runs = Object.fromEntries(
    (['wasm', 'webgpu'] as const).map((b) => {
      const out = join(dir, b);
      const r = train(['-s', f, '--out', out, '--backend', b, ...(b === 'wasm' ? ['--threads', '1'] : [])]);
      assert.equal(r.code, 0, `${b}: ${r.stderr}`);
      return [b, { out, events: ndjson(r.stdout) as Ev[], weights: savedWeights(join(out, 'model')) }];
    }),
  ) as Record<'wasm' | 'webgpu', { out: string; events: Ev[]; weights: Map<string, Float32Array> }>;
  const [cpu, gpu] = [epochEnds(runs.wasm.events), epochEnds(runs.webgpu.events)];
  assert.deepEqual(
    gpu.map((e) => e.stage),
    cpu.map((e) => e.stage),
  );
  cpu.forEach((c, i) => {
    for (const k of ['loss', 'valLoss'] as const)
      assert.ok(Math.abs(gpu[i]![k] - c[k]) <= 1e-3 * Math.abs(c[k]), `epoch ${i + 1} ${k}: ${gpu[i]![k]} vs ${c[k]}`);
  });
  return runs;
}

/**
 * Trained weights: float32 sums run in another order on the GPU, so each op differs in the last bits
 * (~1e-7 relative), and Adam and RMSprop turn that into whole steps for a few weights: an element whose
 * gradient is near zero moves by ±lr in a direction its rounding decides. Measured on lavapipe with the
 * FEATURES schedule (worst tensor, layer3_0_conv1/kernel): max |Δ| 6.0e-5 of the tensor's scale against
 * wasm with float32 BatchNorm sums, 1.05e-4 against wasm with double sums, and 4.5e-5 between those two
 * wasm builds themselves: the same size, so it is rounding, not the GPU. As a whole each tensor agrees to
 * ‖Δ‖/‖w‖ ≤ 5.2e-6 in all three pairs (6–10 elements of the network are off by more than 1e-5 of their
 * scale). So: ‖Δ‖/‖w‖ ≤ 5e-5 (10× headroom) catches a wrong update — one step at these lrs moves a
 * tensor by 1e-4 to 1e-2 of its norm — and max |Δ| ≤ 5e-4 of the scale (5× the worst) bounds the
 * sign-flipped few.
 */
function assertClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, x] of a) {
    const y = b.get(name)!;
    const scale = Math.max(...Array.from(x, Math.abs));
    const worst = Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i]!)));
    let [dd, ww] = [0, 0];
    x.forEach((v, i) => ((dd += (v - y[i]!) ** 2), (ww += v * v)));
    const rel = ww > 0 ? Math.sqrt(dd / ww) : Math.sqrt(dd);
    if (process.env['FREEZEFLOW_TEST_VERBOSE']) console.log(`${name}: max |Δ|/scale ${worst / scale}, ‖Δ‖/‖w‖ ${rel}`);
    assert.ok(rel <= 5e-5, `${name}: ‖Δ‖/‖w‖ ${rel}`);
    assert.ok(worst <= 5e-4 * scale, `${name}: max |Δ| ${worst} (scale ${scale})`);
  }
}

test('webgpu: software adapters are recognised by name and never picked by auto', { skip }, () => {
  assert.ok(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe' }));
  assert.ok(isSoftwareAdapter({ vendor: 'google', device: 'SwiftShader Device' }));
  assert.ok(isSoftwareAdapter({ vendor: 'nvidia' }, true), 'the fallback flag alone');
  assert.ok(!isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA H100 80GB HBM3' }));
  const doctor = JSON.parse(cli(['doctor', '--json'], { env }).stdout) as {
    backends: { name: string; available: boolean; skippedByAuto?: boolean; detail: string }[];
    auto: string;
  };
  const wg = doctor.backends.find((b) => b.name === 'webgpu')!;
  assert.equal(wg.available, true, wg.detail);
  if (probe.software) {
    assert.equal(wg.skippedByAuto, true);
    assert.match(wg.detail, /software adapter, slower than wasm, not picked/);
    assert.notEqual(doctor.auto, 'webgpu');
  } else assert.equal(doctor.auto, 'webgpu');
});

test('webgpu: --backend webgpu without an adapter is a usage error naming the fix', () => {
  const dir = tempDir();
  const f = writeSchedule(dir, BN_TRAIN);
  const r = cli(['train', '-s', f, '--out', join(dir, 'run'), '--backend', 'webgpu'], {
    env: { ...env, VK_DRIVER_FILES: join(dir, 'none.json'), VK_ICD_FILENAMES: join(dir, 'none.json') },
  });
  assert.equal(r.code, 2, r.stderr);
  const last = r.stderr.trim().split('\n').at(-1)!;
  assert.match(
    last,
    /^freezeflow: backend 'webgpu' is not available: .*(npm install --no-save webgpu|VK_DRIVER_FILES)/,
  );
  assert.ok(!existsSync(join(dir, 'run')), 'nothing written');
});

test(
  'webgpu: every stage kind, lr groups, decay, schedulers, cache and guard match wasm; frozen weights and BN statistics bit-identical',
  { skip },
  () => {
    const runs = trainBoth(FEATURES);
    const stages = runs.webgpu.events.filter((e) => e.type === 'stage-start').map((e) => e['stage']);
    assert.deepEqual(stages, ['head', 'last', 'mid', 'all']);
    for (const r of [runs.wasm, runs.webgpu]) {
      const pick = (t: string) => r.events.filter((e) => e.type === t).map((e) => e['epoch']);
      assert.deepEqual(pick('guard'), [3], 'the guard fired after the unfreeze of stage mid');
      assert.deepEqual(pick('early-stop'), [5], 'early stopping ended stage all after 2 of 3 epochs');
      const all = r.events.find((e) => e.type === 'stage-start' && e['stage'] === 'all')!;
      assert.equal(all['skippedUnfreeze'], true);
    }
    const cache = runs.webgpu.events.filter((e) => e.type === 'feature-cache' && e['used'] === true);
    assert.ok(cache.length >= 2, 'the feature cache ran on the GPU');
    assert.ok(
      cache.every((e) => (e['foldedBatchNorm'] as number) > 0),
      'BatchNorm folded into the prefix',
    );
    assertClose(runs.webgpu.weights, runs.wasm.weights);
    // stem and layer1 never train (the guard kept them out): bit-identical to the pretrained model,
    // moving statistics included
    const pre = savedWeights(join(runs.wasm.out, 'checkpoints/stage-1-head'));
    const frozen = [...runs.webgpu.weights.keys()].filter((n) => /^(stem_|layer1_)/.test(n));
    assert.ok(
      frozen.some((n) => /moving_mean/.test(n)),
      'frozen BatchNorm statistics are among them',
    );
    for (const n of frozen) {
      const [g, p] = [runs.webgpu.weights.get(n)!, pre.get(n)!];
      assert.ok(
        g.every((v, i) => Object.is(v, p[i])),
        `${n} changed on webgpu`,
      );
    }
  },
);

test(
  'webgpu: trained BatchNorm and a fully unfrozen network (no cache) match wasm, run through compare',
  { skip },
  () => {
    const dir = tempDir('ff-webgpu-');
    const f = writeSchedule(dir, BN_TRAIN, 'bn.yaml');
    const r = cli(['compare', '--schedules', f, '--backend', 'webgpu', '--out', join(dir, 'cmp'), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const table = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { runs: { status: string; dir?: string }[] };
    assert.equal(table.runs.length, 1);
    assert.equal(table.runs[0]!.status, 'completed');
    const gpuDir = join(dir, 'cmp', 'bn-nall-seed1');
    const summary = JSON.parse(readFileSync(join(gpuDir, 'summary.json'), 'utf8'));
    assert.equal(summary.backend.used, 'webgpu');
    const cpu = train(['-s', f, '--out', join(dir, 'wasm'), '--backend', 'wasm', '--threads', '1', '--seed', '1']);
    assert.equal(cpu.code, 0, cpu.stderr);
    const gpuEvents = readFileSync(join(gpuDir, 'events.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    const [c, g] = [epochEnds(ndjson(cpu.stdout) as Ev[]), epochEnds(gpuEvents)];
    assert.equal(g.length, 2);
    c.forEach((e, i) => assert.ok(Math.abs(g[i]!.loss - e.loss) <= 1e-3 * e.loss, `epoch ${i + 1} loss`));
    assertClose(savedWeights(join(gpuDir, 'model')), savedWeights(join(dir, 'wasm', 'model')));
  },
);

test('webgpu: NaN stops the run with exit 1 and the last good checkpoint; no read per batch needed', { skip }, () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    BN_TRAIN.replace(
      / {2}- \{ name: all.*\n/,
      "  - { name: boom, epochs: 2, unfreeze: ['*'], optimizer: adam, lr: 1.0e+30 }\n",
    ),
  );
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'webgpu'], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr.trim().split('\n').at(-1)!,
    /^freezeflow: the (loss|gradient norm) became NaN or infinite in stage 'boom', epoch 2, batch 2;/,
  );
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'failed');
  assert.equal(summary.epochs, 1);
  const last = savedWeights(join(out, 'checkpoints/last'));
  for (const [n, w] of last) assert.ok(w.every(Number.isFinite), `${n} finite in the last checkpoint`);
});

test('webgpu: Ctrl-C writes a checkpoint (exit 130) and --resume finishes on the GPU', { skip }, async () => {
  const dir = tempDir();
  const f = writeSchedule(dir, BN_TRAIN.replace('epochs: 1, unfreeze', 'epochs: 3, unfreeze'));
  const out = join(dir, 'run');
  const first = await interruptWhen(
    ['train', '-s', f, '--out', out, '--json', '--backend', 'webgpu'],
    (o) => o.split('"type":"epoch-end"').length - 1 >= 2,
    'SIGINT',
    env,
  );
  assert.equal(first.code, 130, first.stderr);
  const second = train(['--resume', out, '--backend', 'webgpu']);
  assert.equal(second.code, 0, second.stderr);
  const ends = epochEnds(ndjson(second.stdout) as Ev[]);
  assert.ok(ends.length >= 1 && ends.length <= 2, `resumed epochs: ${ends.length}`);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
});

test('webgpu: predict and evaluate give the same probabilities and scores as wasm', { skip }, async () => {
  const dir = tempDir();
  const f = writeSchedule(dir, BN_TRAIN);
  const out = join(dir, 'run');
  assert.equal(cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'wasm'], { env }).code, 0);
  // a small labelled folder of digits, as PNG files
  const digits = loadBuiltinDataset('mnist-5-9');
  const files: string[] = [];
  // two digits of each class
  const picked = digits.classes.flatMap((_, c) => [...digits.y.keys()].filter((i) => digits.y[i] === c).slice(0, 2));
  for (const i of picked) {
    const label = digits.classes[digits.y[i]!]!;
    mkdirSync(join(dir, 'digits', label), { recursive: true });
    const px = Uint8Array.from(digits.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
    const file = join(dir, 'digits', label, `${i}.png`);
    await sharp(Buffer.from(px), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  const predict = (b: string) => {
    const r = cli(['predict', ...files, '-m', out, '--json', '-k', '5', '--backend', b], { env });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { predictions: { top: { label: string; probability: number }[] }[] }).predictions;
  };
  const [cpu, gpu] = [predict('wasm'), predict('webgpu')];
  cpu.forEach((p, i) =>
    p.top.forEach((t) => {
      const q = gpu[i]!.top.find((u) => u.label === t.label)!;
      assert.ok(Math.abs(q.probability - t.probability) <= 1e-4, `image ${i} label ${t.label}`);
    }),
  );
  const evaluate = (b: string) => {
    const r = cli(['evaluate', '-m', out, '-d', join(dir, 'digits'), '--json', '--backend', b], { env });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { accuracy: number; confusion: number[][] };
  };
  const [ec, eg] = [evaluate('wasm'), evaluate('webgpu')];
  assert.equal(eg.accuracy, ec.accuracy);
  assert.deepEqual(eg.confusion, ec.confusion);
});

// Last in this file: it destroys the GPU device of this process.
test(
  'webgpu: a GPU lost mid-run fails with a line naming it and the state of the last good epoch',
  { skip },
  async () => {
    const tf = await import('../src/tf.js');
    const { initBackend } = await import('../src/backend/index.js');
    const { takeDeviceError } = await import('../src/backend/webgpu.js');
    const { attachHead, cutModel } = await import('../src/model/surgery.js');
    const { loadModel } = await import('../src/model/io.js');
    const { memorySource, split } = await import('../src/data/dataset.js');
    const { parseSchedule } = await import('../src/schedule/load.js');
    const { buildPlan } = await import('../src/schedule/plan.js');
    const { TrainingFailure } = await import('../src/train/runner.js');
    const { runAndCollect } = await import('./helpers.js');
    const { EventBus } = await import('../src/core/events.js');
    await initBackend('webgpu');
    const model = attachHead(
      cutModel(await loadModel('builtin:resnet-mini')),
      [{ dense: { units: 'auto', activation: 'softmax' } }],
      5,
    );
    const ds = split(loadBuiltinDataset('mnist-5-9'), 0.5, 1, 64);
    const val = { ...ds.val, x: ds.val.x.subarray(0, 32 * 784), y: ds.val.y.subarray(0, 32) };
    const plan = buildPlan(
      parseSchedule(`model: { source: x }
data: { source: y, batchSize: 32 }
stages: [{ name: last, epochs: 3, unfreeze: ['layer3*'], lr: 0.001 }]
`).schedule,
      't',
    );
    const saved: number[] = [];
    const bus = new EventBus();
    // the device goes away when the first epoch has ended (and its checkpoint is written)
    bus.on((e) => {
      if (e.type === 'checkpoint') (tf.backend() as unknown as { device: { destroy(): void } }).device.destroy();
    });
    const err = await runAndCollect(plan, model, memorySource(ds.train), memorySource(val), {
      bus,
      deviceError: takeDeviceError,
      checkpoint: async (kind, s) => {
        saved.push(s.epoch);
        bus.emit({ type: 'checkpoint', kind, dir: '', epoch: s.epoch });
        return undefined;
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TrainingFailure, String(err));
    assert.match(err.message, /the GPU device was lost/);
    assert.equal(err.state.epoch, 1, 'the last good epoch');
    assert.deepEqual(saved, [1], 'the epoch-1 checkpoint was written before the loss');
  },
);

test(
  'webgpu: an imported network with freezeflow’s own layers (-inf padding, grouped conv, HardSwish, squeeze-excitation) predicts as cpu and trains',
  { skip },
  async () => {
    const { customLayersNet } = await import('./onnx-builder.js');
    const dir = tempDir('ff-webgpu-onnx-');
    const bytes = customLayersNet();
    const file = join(dir, 'net.onnx');
    writeFileSync(file, bytes);
    const images: string[] = [];
    for (const [cls, k] of [
      ['a', 0],
      ['a', 1],
      ['b', 2],
      ['b', 3],
    ] as const) {
      mkdirSync(join(dir, 'data', cls), { recursive: true });
      const px = Buffer.from(Array.from({ length: 12 * 12 * 3 }, (_, i) => (i * (k + 3) * 37) % 256));
      const img = join(dir, 'data', cls, `${k}.png`);
      await sharp(px, { raw: { width: 12, height: 12, channels: 3 } })
        .png()
        .toFile(img);
      images.push(img);
    }
    const run = (b: string) => {
      const out = cli(['predict', '-m', file, ...images, '--raw', '--json', '--backend', b], {
        env: { ...env, FREEZEFLOW_CACHE_DIR: join(dir, `cache-${b}`) },
      });
      assert.equal(out.code, 0, out.stderr);
      return (JSON.parse(out.stdout) as { outputs: { output: number[] }[] }).outputs.flatMap((o) => o.output);
    };
    const [gpu, cpu] = [run('webgpu'), run('cpu')];
    const scale = Math.max(...cpu.map(Math.abs));
    for (let i = 0; i < cpu.length; i++)
      assert.ok(Math.abs(gpu[i]! - cpu[i]!) <= 1e-4 * scale, `${gpu[i]} vs ${cpu[i]}`);
    const schedule = writeSchedule(
      dir,
      `model: { source: ./net.onnx }
data: { source: ./data, imageSize: [12, 12], validation: { split: 0.5 }, batchSize: 2 }
stages: [{ name: all, epochs: 1, unfreeze: ['*'], lr: 1.0e-3 }]
`,
    );
    const trained = cli(['train', '-s', schedule, '--out', join(dir, 'run'), '--quiet', '--backend', 'webgpu'], {
      env: { ...env, FREEZEFLOW_CACHE_DIR: join(dir, 'cache-train') },
    });
    assert.equal(trained.code, 0, trained.stderr);
    const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as {
      history: { loss: number }[];
    };
    assert.ok(
      summary.history.every((h) => Number.isFinite(h.loss)),
      'finite losses',
    );
  },
);
