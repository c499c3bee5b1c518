import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { cli, interruptWhen, ndjson, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

test('--version, --help and unknown commands', () => {
  const version = cli(['--version']).stdout.trim();
  assert.match(version, /^\d+\.\d+\.\d+/);
  // doctor's first line says which freezeflow (a bug report starts there)
  assert.match(cli(['doctor']).stdout, new RegExp(`^freezeflow ${version.replace(/\./g, '\\.')}; node v\\d+`));
  assert.equal(cli(['--help']).code, 0);
  const bad = cli(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command/);
  // usage errors inside subcommands: exit 2 and one line, like every other usage error
  for (const [args, expected] of [
    [['train', '--bogus'], /^freezeflow: unknown option '--bogus' \(see --help\)$/],
    [['inspect'], /^freezeflow: missing required argument 'model' \(see --help\)$/],
    [['init', '--strategy', 'nope'], /^freezeflow: option '--strategy <name>' argument 'nope' is invalid\./],
    // values are checked before any work
    [
      ['train', '-s', 'x.yaml', '--samples', '0'],
      /^freezeflow: option '--samples <n>' argument '0' is invalid\. expected a whole number ≥ 1/,
    ],
    [
      ['train', '-s', 'x.yaml', '--backend', 'gpu'],
      /^freezeflow: option '--backend <name>' argument 'gpu' is invalid\. Allowed choices are auto, /,
    ],
    [
      ['compare', '--schedules', 'x.yaml', '--samples', '200,abc'],
      /^freezeflow: option '--samples <list>' argument '200,abc' is invalid/,
    ],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), expected);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  const env = cli(['train', '-s', 'x.yaml'], { env: { FREEZEFLOW_THREADS: '12' } });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /value '12' from env 'FREEZEFLOW_THREADS' is invalid/);
  // a pipe closed early (`| head`) ends the command quietly
  const piped = spawnSync(
    'bash',
    ['-c', `"${process.execPath}" bin/freezeflow inspect builtin:resnet-mini | head -1`],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(piped.stderr, '', 'no EPIPE stack trace');
});

test('validate: exit 0 on the examples, 2 with file:line:col errors, JSON for scripts; no colour in pipes', () => {
  const ok = cli(['validate', 'schedules/progressive.yaml', 'schedules/full-freeze.yaml']);
  assert.equal(ok.code, 0);
  assert.doesNotMatch(ok.stdout, /\x1b\[/);
  const dir = tempDir();
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'model: { source: x }\ndata: { source: y }\nstages:\n  - { name: a, epochs: 2, lr: -1 }\n');
  const bad = cli(['validate', f]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), `${f}:4:31: stages[0].lr must be a number > 0 or 'find' (got -1)`);
  const json = cli(['validate', '--json', f]);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.valid, false);
  assert.equal(parsed.issues[0].location.line, 4);
  assert.match(
    cli(['validate', join(dir, 'missing.yaml')]).stderr,
    /^freezeflow: cannot read schedule .*no such file$/m,
  );
  assert.match(cli(['train', '-s', join(dir, 'missing.yaml')]).stderr, /^freezeflow: cannot read schedule /);
  assert.match(ok.stdout, /^ok .*progressive\.yaml: 3 stages, 20 epochs$/m);
});

test('a model or data path that is not there names the schedule key at its file:line:col', () => {
  const dir = tempDir();
  const noModel = writeSchedule(
    dir,
    'model:\n  source: ./nomodel/model.json\ndata:\n  source: builtin:mnist-5-9\nstages:\n  - { name: head, epochs: 1 }\n',
    'm.yaml',
  );
  const noData = writeSchedule(
    dir,
    'model:\n  source: builtin:resnet-mini\ndata:\n  source: ./nophotos\nstages:\n  - { name: head, epochs: 1 }\n',
    'd.yaml',
  );
  const m = cli(['train', '-s', noModel, '--out', join(dir, 'r1'), '--backend', 'wasm', '--quiet']);
  assert.equal(m.code, 1);
  assert.match(
    m.stderr,
    /^freezeflow: .*m\.yaml:2:11: model\.source: cannot read .*nomodel\/model\.json: no such file$/m,
  );
  assert.match(cli(['plan', '-s', noModel, '--model']).stderr, /m\.yaml:2:11: model\.source: cannot read /);
  const d = cli(['train', '-s', noData, '--out', join(dir, 'r2'), '--backend', 'wasm', '--quiet']);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^freezeflow: .*d\.yaml:4:11: data\.source '.*nophotos' is not a folder/m);
  assert.ok(!existsSync(join(dir, 'r1')) && !existsSync(join(dir, 'r2')), 'no run folder left');
});

test('plan: text and JSON; --model resolves patterns; a pattern matching nothing is an error', () => {
  const text = cli(['plan', '-s', 'schedules/progressive.yaml']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /Stage 3\/3 all {2}epochs 16–20/);
  const json = JSON.parse(cli(['plan', '-s', 'schedules/progressive.yaml', '--json', '--model']).stdout);
  assert.equal(json.stages.length, 3);
  assert.deepEqual(json.stages[0].trainable.sort(), ['head/dense_1', 'head/dense_2', 'head/dropout_1']);
  assert.ok(json.stages[1].trainable.includes('layer3_0_conv1'));
  assert.ok(!json.stages[1].trainable.includes('layer2_0_conv1'));
  assert.ok(json.stages[2].trainableParams > json.stages[1].trainableParams);
  assert.ok(Math.abs(json.stages[2].epochLr[4] - 1e-7) < 1e-12);
  const dir = tempDir();
  const f = join(dir, 's.yaml');
  writeFileSync(
    f,
    "model: { source: builtin:resnet-mini }\ndata: { source: builtin:mnist-5-9 }\nstages:\n  - { name: a, epochs: 1, unfreeze: ['layer4*'] }\n",
  );
  const bad = cli(['plan', '-s', f, '--model']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /s\.yaml:4:38: stages\[0\] 'a': pattern 'layer4\*' matches no layer; closest layers: /);
});

test('init: writes a valid commented schedule; recommends by data-set size', () => {
  const dir = tempDir();
  const r = cli(['init', '--samples', '5000', '--out', 'mine.yaml'], { cwd: dir });
  assert.equal(r.code, 0);
  assert.match(r.stderr, /recommended: progressive/);
  const text = readFileSync(join(dir, 'mine.yaml'), 'utf8');
  assert.match(text, /^# /m);
  assert.match(text, /samples: 5000/);
  assert.equal(cli(['validate', join(dir, 'mine.yaml')]).code, 0);
  assert.match(cli(['init', '--samples', '300', '--out', '-']).stderr, /recommended: full-freeze/);
  assert.match(cli(['init', '--samples', '50000', '--out', '-']).stderr, /recommended: full-unfreeze/);
  assert.equal(
    cli(['init', '--strategy', 'selective', '--out', 'mine.yaml'], { cwd: dir }).code,
    2,
    'no silent overwrite',
  );
  assert.equal(cli(['init']).code, 2);
});

test('inspect: builtin model, JSON, --grep, --schedule columns', async () => {
  const t = cli(['inspect', 'builtin:resnet-mini']);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /stem_bn +BatchNormalization/);
  assert.match(t.stdout, /total: \d+ layers/);
  const j = JSON.parse(cli(['inspect', 'builtin:resnet-mini', '--json', '--grep', 'layer3*']).stdout);
  assert.ok(j.layers.every((l: { path: string }) => l.path.startsWith('layer3')));
  const s = JSON.parse(
    cli(['inspect', 'builtin:resnet-mini', '--json', '--schedule', 'schedules/progressive.yaml']).stdout,
  );
  assert.equal(s.stages.length, 3);
  assert.ok(s.stages[0].trainableParams < s.stages[1].trainableParams);
  // a relative MODEL on the command line is relative to the working directory, not to the schedule
  const elsewhere = writeSchedule(tempDir(), readFileSync(join(ROOT, 'schedules/progressive.yaml'), 'utf8'));
  const rel = cli(['inspect', 'models/resnet-mini/model.json', '--json', '--schedule', elsewhere]);
  assert.equal(rel.code, 0, rel.stderr);
  assert.equal(JSON.parse(rel.stdout).stages.length, 3);
  assert.equal(cli(['inspect', 'nope/model.json']).code, 1);
  // predict takes builtin models (and http(s) URLs) too, not only local paths
  const png = join(tempDir(), 'x.png');
  await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toFile(png);
  const pred = cli(['predict', '-m', 'builtin:resnet-mini', png, '--json', '--backend', 'wasm']);
  assert.equal(pred.code, 0, pred.stderr);
  assert.equal(JSON.parse(pred.stdout).predictions[0].top.length, 3);
  const typo = cli(['inspect', 'builtin:resnet-mini', '--grep', 'layr3*']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^freezeflow: --grep 'layr3\*' matches no layer; closest layers: layer3_0_conv1,/);
});

test('train: a short run end to end writes model, metrics, events, summary; --json streams NDJSON; resume', () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    tinySchedule(
      128,
      `  - { name: head, epochs: 1, lr: 1.0e-3 }
  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-4 }
`,
    ),
    'tiny.yaml',
  );
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const events = ndjson(r.stdout);
  assert.equal(events[0].type, 'run-start');
  assert.equal(events[0].backend, 'wasm');
  assert.equal(events.at(-1).type, 'run-end');
  assert.equal(events.filter((e) => e.type === 'epoch-end').length, 2);
  assert.equal(events.filter((e) => e.type === 'gradient-report').length, 2);
  // each epoch-end carries the best epoch so far (what the progress bar shows), the last one the summary's
  const ends = events.filter((e) => e.type === 'epoch-end');
  assert.equal(ends[0].best.epoch, 1);
  const best = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).bestEpoch;
  assert.equal(ends.at(-1).best.epoch, best);
  for (const p of [
    'model/model.json',
    'model/labels.json',
    'metrics.csv',
    'events.ndjson',
    'summary.json',
    'schedule.yaml',
    'checkpoints/last/state.json',
    'checkpoints/best/model.json',
  ]) {
    assert.ok(existsSync(join(out, p)), p);
  }
  const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'stage,epoch,lr,trainable_params,loss,acc,val_loss,val_acc,seconds');
  assert.equal(csv.length, 3);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'completed');
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'model/labels.json'), 'utf8')), ['5', '6', '7', '8', '9']);
  // a finished run is not resumed (nor its summary overwritten): one line, exit 2
  const again = cli(['train', '--resume', out, '--quiet']);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /^freezeflow: --resume .*: that run has completed; nothing to resume/);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
  const over = cli(['train', '-s', f, '--out', out]);
  assert.equal(over.code, 2, 'a finished run directory is not overwritten');
  assert.match(over.stderr, /already holds a finished run; choose another --out \(.*_1 is free\)/);
  // --out at a folder of version_N runs (what output.dir makes) takes the next version
  mkdirSync(join(dir, 'versions/version_0'), { recursive: true });
  mkdirSync(join(dir, 'versions/version_2'));
  const versioned = cli(['train', '-s', f, '--out', join(dir, 'versions'), '--quiet']);
  assert.equal(versioned.code, 0, versioned.stderr);
  assert.ok(existsSync(join(dir, 'versions/version_3/summary.json')));
});

test('train: NaN gradients stop the run with exit 1 naming stage, epoch and batch; checkpoints stay finite', () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    tinySchedule(
      128,
      `  - { name: head, epochs: 1, lr: 1.0e-3 }
  - { name: boom, epochs: 2, unfreeze: ['*'], optimizer: adam, lr: 1.0e+30 }
`,
    ),
    'boom.yaml',
  );
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--quiet']);
  assert.equal(r.code, 1, r.stderr);
  const msg = r.stderr.trim().split('\n').at(-1)!;
  assert.match(
    msg,
    /^freezeflow: the (loss|gradient norm) became NaN or infinite in stage 'boom', epoch 2, batch \d+;/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'failed');
  assert.equal(summary.epochs, 1, 'the state of the last good epoch');
  assert.ok(!existsSync(join(out, 'model')), 'no final model from a broken run');
  const weights = readFileSync(join(out, 'checkpoints/last/weights.bin'));
  const floats = new Float32Array(weights.buffer, weights.byteOffset, weights.byteLength / 4);
  assert.ok(floats.every(Number.isFinite), 'the last checkpoint holds finite weights');
});

test('train: a run that fails before its first epoch ends with one line, exit 1, summary.json and report.html', () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    tinySchedule(64, `  - { name: boom, epochs: 2, unfreeze: ['*'], optimizer: adam, lr: 1.0e+30 }\n`),
  );
  const out = join(dir, 'run');
  const r = cli(['train', '-s', f, '--out', out, '--backend', 'wasm']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `freezeflow: the gradient norm became NaN or infinite in stage 'boom', epoch 1, batch 2; the last good checkpoint is kept (try a lower lr)`,
  ]);
  assert.match(r.stdout, /failed: no epoch finished/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'failed');
  assert.equal(summary.epochs, 0);
  assert.match(summary.error, /stage 'boom', epoch 1/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /no epoch finished/);
  assert.match(html, /failed: the gradient norm became NaN/);
});

test('train: SIGTERM mid-stage writes a checkpoint and exits 130; --resume continues at the right stage and epoch', async () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    tinySchedule(
      256,
      `  - { name: head, epochs: 2, lr: 1.0e-3 }
  - { name: last, epochs: 3, unfreeze: ['layer3*'], lr: 1.0e-3, scheduler: { type: cosine, minLr: 1.0e-5 } }
`,
    ),
    'two.yaml',
  );
  const out = join(dir, 'run');
  // stop during epoch 4 (the second epoch of stage 'last')
  const first = await interruptWhen(
    ['train', '-s', f, '--out', out, '--json', '--samples', '200'],
    (o) => o.includes('"type":"epoch-end"') && o.split('"type":"epoch-end"').length - 1 >= 3,
    'SIGTERM',
  );
  assert.equal(first.code, 130, first.stderr);
  const state = JSON.parse(readFileSync(join(out, 'checkpoints/last/state.json'), 'utf8'));
  assert.equal(state.kind, 'interrupt');
  assert.equal(state.state.stageIndex, 1);
  assert.equal(state.state.epoch, 3);
  assert.ok(state.state.trainable.includes('layer3_0_conv1'));
  const ends = (s: string) => ndjson(s).filter((e) => e.type === 'epoch-end');
  const before = ends(first.stdout);
  assert.deepEqual(
    before.map((e) => e.epoch),
    [1, 2, 3],
  );

  const second = cli(['train', '--resume', out, '--json']);
  assert.equal(second.code, 0, second.stderr);
  const events = ndjson(second.stdout);
  assert.deepEqual(events[0].resumedFrom, { stage: 1, epoch: 3 });
  const start = events.find((e) => e.type === 'stage-start');
  assert.equal(start.stage, 'last', 'resumed in the stage it stopped in, not from the start');
  assert.ok(start.trainable.includes('layer3_0_conv1'));
  const after = events.filter((e) => e.type === 'epoch-end');
  assert.deepEqual(
    after.map((e) => e.epoch),
    [4, 5],
  );
  // the cosine scheduler continues where it was: epoch 4 uses the lr the plan gives epoch 4
  const plan = JSON.parse(cli(['plan', '-s', f, '--json']).stdout);
  const lrOf = (epoch: number) => plan.stages[1].epochLr[epoch - 3];
  assert.ok(Math.abs(after[0].lr - lrOf(4)) / lrOf(4) < 1e-6, `lr ${after[0].lr} vs plan ${lrOf(4)}`);
  const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').slice(1);
  assert.deepEqual(
    csv.map((l) => Number(l.split(',')[1])),
    [1, 2, 3, 4, 5],
    'one metrics row per epoch across both processes',
  );
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'completed');
  assert.equal(summary.data.train, 200, 'the resumed process kept the --samples override of the first');
});

test('train: resuming from an older checkpoint replaces the redone epochs in metrics.csv, events and summary', async () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    tinySchedule(
      128,
      `  - { name: 'head, first', epochs: 2, lr: 1.0e-3 }
  - { name: last, epochs: 3, unfreeze: ['layer3*'], lr: 1.0e-3 }
`,
    ),
  );
  const out = join(dir, 'run');
  const first = await interruptWhen(
    ['train', '-s', f, '--out', out, '--json'],
    (o) => o.split('"type":"epoch-end"').length - 1 >= 4,
    'SIGTERM',
  );
  assert.equal(first.code, 130, first.stderr);
  // go back to the end of stage 1 (epoch 2): epochs 3 and 4 are trained again
  rmSync(join(out, 'checkpoints/last'), { recursive: true });
  cpSync(join(out, 'checkpoints/stage-1-head, first'), join(out, 'checkpoints/last'), { recursive: true });
  const second = cli(['train', '--resume', out, '--quiet']);
  assert.equal(second.code, 0, second.stderr);
  const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').slice(1);
  assert.deepEqual(
    csv.map((l) => l.match(/^"head, first"|^last/)?.[0]),
    ['"head, first"', '"head, first"', 'last', 'last', 'last'],
    'a comma in a stage name is quoted',
  );
  const ends = readFileSync(join(out, 'events.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'epoch-end')
    .map((e) => e.epoch);
  assert.deepEqual(ends, [1, 2, 3, 4, 5]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(
    summary.history.map((h: { epoch: number }) => h.epoch),
    [1, 2, 3, 4, 5],
  );
});

test('a reporter that throws is switched off with a warning; the run goes on', async () => {
  const { EventBus } = await import('../src/core/events.js');
  const bus = new EventBus();
  const seen: string[] = [];
  bus.add('broken', {
    onEvent: (e) => {
      if (e.type === 'epoch-end') throw new Error('disk on fire');
    },
  });
  bus.add('fine', { onEvent: (e) => void seen.push(e.type === 'warning' ? `warning: ${e.message}` : e.type) });
  const epoch = {
    stage: 's',
    stageIndex: 0,
    lr: 1,
    groups: [{ id: 'stage', lr: 1 }],
    trainableParams: 1,
    loss: 1,
    acc: 1,
  };
  const rest = { valLoss: 1, valAcc: 1, seconds: 1, samplesPerSec: 1 };
  bus.emit({ type: 'epoch-end', epoch: 1, ...epoch, ...rest });
  bus.emit({ type: 'epoch-end', epoch: 2, ...epoch, ...rest });
  // the warning reaches the others before the event the broken reporter choked on
  assert.deepEqual(seen, [
    'warning: the broken reporter failed and is switched off: disk on fire',
    'epoch-end',
    'epoch-end',
  ]);
});

test('output.dir: relative to the schedule file, one version_N folder per run (a second run does not fail)', () => {
  const dir = tempDir();
  const f = writeSchedule(
    dir,
    `${tinySchedule(32, `  - { name: head, epochs: 1, lr: 1.0e-3 }\n`)}output: { dir: experiments }\n`,
  );
  for (const n of [0, 1]) {
    const r = cli(['train', '-s', f, '--quiet', '--backend', 'wasm'], { cwd: tempDir() });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(dir, 'experiments', `version_${n}`, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'completed');
  }
});

test('every command has examples in its --help; shell completion offers the real commands and options', async () => {
  const { buildProgram } = await import('../src/cli/main.js');
  const names = buildProgram().commands.map((c) => c.name());
  assert.ok(names.length >= 17 && names.includes('import'), names.join(' '));
  for (const cmd of names) {
    const h = cli([cmd, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /\nExamples:\n {2}\$ /, cmd);
    assert.match(h.stdout.slice(h.stdout.indexOf('Examples:')), new RegExp(`\\$ freezeflow ${cmd}\\b`), cmd);
  }
  const script = cli(['completion', 'bash']).stdout;
  const complete = (words: string[]) =>
    spawnSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _freezeflow; echo "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
  assert.equal(complete(['freezeflow', 'ev']), 'evaluate');
  assert.equal(complete(['freezeflow', 'train', '--res']), '--resume');
  assert.match(complete(['freezeflow', 'predict', '--']), /--checkpoint/);
  // option values: backends, strategies, formats (from the options' own choices)
  assert.equal(complete(['freezeflow', 'train', '--backend', 'w']), 'webgpu wasm');
  assert.equal(complete(['freezeflow', 'init', '--strategy', 'full-']), 'full-freeze full-unfreeze');
  assert.equal(complete(['freezeflow', 'export', 'RUN', '-f', 'o']), 'onnx');
  assert.equal(complete(['freezeflow', 'export', 'RUN', '--quantize', '']), 'float16 uint8');
  assert.equal(cli(['completion', 'fish']).code, 2);
});

test('validate --model checks every pattern against the real layers, as file:line:col', () => {
  const f = writeSchedule(
    tempDir(),
    `model: { source: builtin:resnet-mini }\ndata: { source: builtin:mnist-5-9 }\nstages:\n  - { name: a, epochs: 1 }\n  - { name: b, epochs: 1, unfreeze: ["layr3*"] }\n`,
  );
  assert.equal(cli(['validate', f]).code, 0, 'the schema alone cannot know the layers');
  const r = cli(['validate', f, '--model']);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr.trim(),
    /:5:38: stages\[1\] 'b': pattern 'layr3\*' matches no layer; closest layers: layer3_0_conv1/,
  );
});

test('train in a pipeline: counts read right, and the last lines point to report.html and TensorBoard', () => {
  const dir = tempDir();
  const f = writeSchedule(dir, tinySchedule(64, `  - { name: head, epochs: 1, lr: 1.0e-3 }\n`), 'one.yaml');
  const r = cli(['train', '-s', f, '--out', join(dir, 'run'), '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^done: 1 epoch in /m);
  assert.doesNotMatch(r.stdout, /\b1 (epochs|layers|trainable layers|classes)\b/);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines.at(-2)!, /^report: .*run\/report\.html \(open it in a browser\)$/);
  assert.match(lines.at(-1)!, /^TensorBoard: tensorboard --logdir .*run\/tensorboard /);
  assert.ok(existsSync(join(dir, 'run/report.html')) && existsSync(join(dir, 'run/tensorboard/validation')));
  const quiet = cli(['train', '-s', f, '--out', join(dir, 'run2'), '--backend', 'wasm', '--quiet']);
  assert.equal(quiet.stdout, '', 'nothing on stdout with --quiet');
});
