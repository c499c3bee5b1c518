// Shared test helpers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tf from '../src/tf.js';
import { packageRoot } from '../src/core/paths.js';
import { resolvePlan, type Plan } from '../src/schedule/plan.js';
import { listLayers } from '../src/model/layers.js';
import type { BatchSource } from '../src/data/dataset.js';
import { EventBus, type RunEvent } from '../src/core/events.js';
import { runStages, type RunOptions } from '../src/train/runner.js';

export const ROOT = packageRoot();

export function tempDir(prefix = 'ff-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs the real CLI (bin/freezeflow) as a pipeline would: no TTY, captured output. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/freezeflow'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...opts.env },
    timeout: 600_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs an ES-module script in a fresh Node process (in the project root); the JSON of its last line. */
export function moduleProbe<T>(script: string, env: Record<string, string> = {}): T {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

/** The NDJSON events `train --json` printed, one object per line (fields read freely, as JSON.parse gives them). */
export function ndjson(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

export type EventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

/** The events of one type, typed as the run emits them (no casts in tests). */
export function eventsOf<T extends RunEvent['type']>(events: readonly { type: string }[], type: T): EventOf<T>[] {
  return events.filter((e) => e.type === type) as EventOf<T>[];
}

/** A small schedule on resnet-mini and MNIST 5–9 with `samples` training digits; `stages` is YAML lines. */
export function tinySchedule(samples: number, stages: string): string {
  return `model: { source: builtin:resnet-mini }
data: { source: builtin:mnist-5-9, samples: ${samples}, batchSize: 32, validation: { split: 0.05 } }
stages:
${stages}`;
}

/** Write a schedule file into `dir` and return its path. */
export function writeSchedule(dir: string, yaml: string, name = 'schedule.yaml'): string {
  const f = join(dir, name);
  writeFileSync(f, yaml);
  return f;
}

/** Run a plan with the real runner; every event but batch-end is collected. */
export async function runAndCollect(
  plan: Plan,
  model: tf.LayersModel,
  train: BatchSource,
  val: BatchSource,
  extra: Partial<RunOptions> = {},
) {
  const events: RunEvent[] = [];
  const bus = new EventBus();
  bus.on((e) => (e.type === 'batch-end' ? undefined : events.push(e)));
  const r = await runStages({
    plan,
    resolved: resolvePlan(plan, listLayers(model)),
    model,
    data: { train, val },
    bus,
    runDir: '',
    ...extra,
  });
  return { ...r, events };
}

/** Runs the CLI asynchronously and sends `signal` once `ready(stdoutSoFar)` holds. */
export function interruptWhen(
  args: string[],
  ready: (out: string) => boolean,
  signal: NodeJS.Signals,
  env: Record<string, string> = {},
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin/freezeflow'), ...args], {
      env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && ready(stdout)) {
        sent = true;
        p.kill(signal);
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/** max |a − b| / max(|b|, floor): relative to the output scale; a floor of 1 keeps outputs near 0 from blowing it up. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) throw new Error(`output sizes differ: ${a.length} vs ${b.length}`);
  let d = 0;
  let m = floor;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}
