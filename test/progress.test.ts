// The terminal reporter's words (lines mode, no colour): counts agree with their nouns, a resume says
// where it picks up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import type { RunEvent } from '../src/core/events.js';
import { progressReporter } from '../src/report/progress.js';

const runStart = (resumedEpoch?: number): RunEvent => ({
  type: 'run-start',
  name: 'n',
  backend: 'cpu',
  skippedBackends: [],
  runDir: '/r',
  totalEpochs: 3,
  stepsPerEpoch: 1,
  trainSamples: 10,
  valSamples: 1,
  classes: ['a'],
  skippedFiles: [],
  input: { shape: [2, 2, 1], preprocess: { name: 'unit' } },
  ...(resumedEpoch === undefined ? {} : { resumedFrom: { stage: 0, epoch: resumedEpoch } }),
});

const stageStart = (layers: number, params: number, frozenBatchNorm: number): RunEvent => ({
  type: 'stage-start',
  stageIndex: 0,
  stage: 'head',
  firstEpoch: 1,
  lastEpoch: 1,
  trainable: Array.from({ length: layers }, (_, i) => `l${i}`),
  trainableParams: params,
  groups: [{ id: 'stage', lr: 1e-3, variables: 2, kept: false }],
  frozenBatchNorm,
});

function shown(events: RunEvent[]): string[] {
  const out: string[] = [];
  const reporter = progressReporter(
    'lines',
    new Chalk({ level: 0 }),
    (s) => out.push(s),
    (s) => out.push(s),
  );
  for (const e of events) void reporter.onEvent(e);
  return out;
}

test('progress lines: singular and plural counts, and where a resume picks up', () => {
  const [one] = shown([stageStart(1, 1, 1)]);
  assert.match(one!, /1 trainable layer \(1 param\), .*, 1 frozen BatchNorm layer in inference mode/);
  const [many] = shown([stageStart(3, 1234, 2)]);
  assert.match(many!, /3 trainable layers \(1,234 params\), .*, 2 frozen BatchNorm layers in inference mode/);
  assert.match(shown([runStart()])[1]!, /10 train \/ 1 validation sample, 1 class; run dir \/r$/);
  assert.match(shown([runStart(0)])[1]!, /; resumed in epoch 1$/);
  assert.match(shown([runStart(2)])[1]!, /; resumed after epoch 2$/);
});
