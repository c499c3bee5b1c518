// A step too big for wasm's 4 GB heap ends with one line on both builds, never a hang: EfficientNet-B0
// (torchvision, exported and imported) training every layer at 160×160, batch 128 (batch 64 fits since
// the backward pass frees each gradient once spent, batch 32 since swish keeps only its input). On 1
// thread the module
// aborts and freezeflow says so (exit 1). On 2 threads a helper thread can run out of memory inside a
// kernel and never return, and the main thread would wait forever; the watchdog ends that (SIGKILL, 137)
// with its line (FREEZEFLOW_WASM_STALL_S=5 here). Needs /usr/bin/python3 with torch and torchvision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { STALL_MESSAGE } from '../src/backend/wasm-watchdog.js';
import { cli, ROOT, tempDir, writeSchedule } from './helpers.js';

const PY = '/usr/bin/python3';
const missing =
  spawnSync(PY, ['-c', 'import torch, torchvision']).status === 0
    ? undefined
    : 'no torch/torchvision for /usr/bin/python3';
if (missing && process.env['FREEZEFLOW_REQUIRE_TORCH'] === '1')
  throw new Error(`FREEZEFLOW_REQUIRE_TORCH=1 but ${missing}`);

async function photos(root: string): Promise<void> {
  for (const c of ['a', 'b']) {
    mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < 100; i++) {
      const px = Buffer.alloc(160 * 160 * 3, (i * 7 + (c === 'a' ? 0 : 100)) % 255);
      await sharp(px, { raw: { width: 160, height: 160, channels: 3 } })
        .png()
        .toFile(join(root, c, `${i}.png`));
    }
  }
}

test(
  'a step larger than the wasm heap ends with one line on 1 and on 2 threads',
  { skip: missing ?? false },
  async () => {
    const dir = tempDir('ff-oom-');
    const exp = spawnSync(
      PY,
      [join(ROOT, 'scripts/torch_export.py'), '--model', 'efficientnet_b0', '--size', '160', '--out', dir],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(exp.status, 0, exp.stderr);
    assert.equal(cli(['import', join(dir, 'model.onnx'), '--out', join(dir, 'tfjs')]).code, 0);
    await photos(join(dir, 'photos'));
    const schedule = writeSchedule(
      dir,
      `model: { source: tfjs }\ndata: { source: photos, batchSize: 128, validation: { split: 0.2 } }\nstages:\n  - { name: all, epochs: 1, unfreeze: ['*'] }\n`,
    );
    for (const threads of ['1', '2']) {
      const t0 = Date.now();
      const r = cli(
        [
          'train',
          '-s',
          schedule,
          '--out',
          join(dir, `run${threads}`),
          '--backend',
          'wasm',
          '--threads',
          threads,
          '--quiet',
        ],
        {
          env: { FREEZEFLOW_WASM_STALL_S: '5' },
        },
      );
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('freezeflow:'));
      assert.ok((Date.now() - t0) / 1000 < 240, `${threads} thread(s): ended in time`);
      assert.equal(lines.length, 1, `${threads} thread(s): one line: ${r.stderr.slice(-600)}`);
      // the module's own abort where it can unwind, the watchdog where a helper thread never returns
      if (r.code === 1) assert.match(lines[0]!, /ran out of memory.*lower data\.batchSize/);
      else assert.deepEqual([r.signal, lines[0]], ['SIGKILL', STALL_MESSAGE], `${threads} thread(s)`);
    }
  },
);
