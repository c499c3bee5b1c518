// What a person sees on a terminal (tmux as the terminal: an 80-column pane, read back with
// capture-pane): every epoch's line, long lines wrapped rather than cut, no stale bar fragments, a short
// header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const tmux = spawnSync('tmux', ['-V']).status === 0;

test(
  'train on a terminal: every epoch line, wrapped not cut, no fragments, a short header',
  { skip: !tmux && 'no tmux (apt-get install tmux)' },
  async () => {
    const dir = tempDir();
    const f = writeSchedule(
      dir,
      tinySchedule(
        64,
        `  - { name: head, epochs: 2, lr: 1.0e-3 }\n  - { name: last, epochs: 1, unfreeze: ['layer3*'], lr: 1.0e-3 }\n`,
      ),
    );
    const session = `ff-${process.pid}`;
    const cmd = `${process.execPath} ${join(ROOT, 'bin/freezeflow')} train -s ${f} --out ${join(dir, 'run')} --backend wasm; echo EXIT=$?; sleep 60`;
    assert.equal(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', '60', cmd]).status, 0);
    let screen = '';
    try {
      for (let i = 0; i < 120 && !/EXIT=\d/.test(screen); i++) {
        await new Promise((r) => setTimeout(r, 500));
        screen = spawnSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).stdout;
      }
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
    assert.match(screen, /EXIT=0/);
    const rows = screen.split('\n').filter((r) => r.trim() !== '');
    for (const n of [1, 2, 3])
      assert.ok(
        rows.some((r) => r.startsWith(`epoch   ${n}/3`)),
        `epoch ${n}'s line is on screen`,
      );
    // a bar glyph only ever sits in a bar row
    const bars = rows.filter((r) => /[█░]/.test(r));
    assert.ok(bars.length >= 2);
    assert.ok(
      bars.every((r) => /^(run  |epoch) \[/.test(r)),
      `fragments:\n${bars.join('\n')}`,
    );
    // the header: one row for the backend, then the data
    assert.match(rows[0]!, /^freezeflow schedule: backend wasm/);
    assert.match(rows[1]!, /^data: /);
    // the final line wraps onto following rows instead of being cut at 80 columns
    const done = rows.findIndex((r) => r.startsWith('done: '));
    assert.ok(done >= 0 && rows.slice(done).join('').includes("--checkpoint best the best epoch's"));
    // the run bar shows the real best epoch so far; the run ends pointing to its report and TensorBoard
    assert.ok(
      bars.some((r) => /^run +\[.*best: epoch [1-3], val_acc \d+\.\d\d%/.test(r)),
      `no best-so-far in the bars:\n${bars.join('\n')}`,
    );
    assert.ok(rows.some((r) => r.startsWith('report: ') && r.includes('report.html')));
    assert.ok(rows.some((r) => r.startsWith('TensorBoard: tensorboard --logdir ')));
  },
);
