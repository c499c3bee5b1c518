// TensorBoard event files, read back by a reader written here from the formats' specifications (TFRecord
// framing with masked CRC32C; the Event, Summary and SessionLog protos), not from the writer's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../src/report/tfevents.js';
import { cli, tempDir, tinySchedule, writeSchedule } from './helpers.js';

/** CRC-32C bit by bit (no table), the reference for the writer's table-driven one. */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}
const mask = (c: number) => (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;

/** The records of a TFRecord file; every length and data CRC checked. */
function records(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length;) {
    const len = Number(buf.readBigUInt64LE(at));
    assert.equal(buf.readUInt32LE(at + 8), mask(crc32cBitwise(buf.subarray(at, at + 8))), 'length CRC');
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(buf.readUInt32LE(at + 12 + len), mask(crc32cBitwise(data)), 'data CRC');
    out.push(data);
    at += 12 + len + 4;
  }
  return out;
}

type Field = { field: number; wire: number; value: bigint | Buffer };
/** Protobuf wire format: varint (0), 64-bit (1), length-delimited (2), 32-bit (5). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < buf.length) {
    const k = Number(varint());
    const [field, wire] = [k >> 3, k & 7];
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      out.push({ field, wire, value: buf.subarray(at, at + n) });
      at += n;
    } else if (wire === 2) {
      const n = Number(varint());
      out.push({ field, wire, value: buf.subarray(at, at + n) });
      at += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

interface Ev {
  step: number;
  version?: string;
  scalars: Record<string, number>;
  sessionStart?: boolean;
}
function decodeEvent(buf: Buffer): Ev {
  const ev: Ev = { step: 0, scalars: {} };
  for (const f of fields(buf)) {
    if (f.field === 2) ev.step = Number(f.value as bigint);
    if (f.field === 3) ev.version = (f.value as Buffer).toString('utf8');
    if (f.field === 6) ev.sessionStart = fields(f.value as Buffer).some((s) => s.field === 1 && s.value === 1n);
    if (f.field === 5)
      for (const v of fields(f.value as Buffer).filter((x) => x.field === 1)) {
        const parts = fields(v.value as Buffer);
        const tag = (parts.find((p) => p.field === 1)!.value as Buffer).toString('utf8');
        ev.scalars[tag] = (parts.find((p) => p.field === 2)!.value as Buffer).readFloatLE(0);
      }
  }
  return ev;
}

/**
 * The epochs TensorBoard keeps from one run's folder (a SessionLog START drops its step and later), with
 * their scalars; checks one event file per process and the file version record.
 */
function keptEpochs(dir: string): Map<number, Record<string, number>> {
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2, `one event file per process in ${dir}`);
  for (const name of files) assert.match(name, /^events\.out\.tfevents\.\d+\./);
  const events = files.flatMap((n) => records(readFileSync(join(dir, n))).map(decodeEvent));
  assert.equal(events[0]!.version, 'brain.Event:2');
  assert.equal(events.find((e) => e.sessionStart)?.step, 3, 'the resumed process restarts TensorBoard at epoch 3');
  const kept = new Map<number, Record<string, number>>();
  for (const e of events) {
    if (e.sessionStart) for (const s of [...kept.keys()]) if (s >= e.step) kept.delete(s);
    if (Object.keys(e.scalars).length > 0) kept.set(e.step, { ...kept.get(e.step), ...e.scalars });
  }
  return kept;
}

test('CRC-32C: the check value of the standard, table-driven and bit by bit alike', () => {
  const nine = new TextEncoder().encode('123456789');
  assert.equal(crc32cBitwise(nine), 0xe3069283);
  assert.equal(crc32c(nine), 0xe3069283);
  const junk = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  assert.equal(crc32c(junk), crc32cBitwise(junk));
});

test('a run writes TensorBoard scalars per epoch; a resumed one tells TensorBoard to drop the epochs it redoes', () => {
  const dir = tempDir('ff-tb-');
  const f = writeSchedule(
    dir,
    tinySchedule(
      64,
      `  - { name: head, epochs: 2, lr: 1.0e-3 }\n  - { name: last, epochs: 2, unfreeze: ['layer3*'] }\n`,
    ),
  );
  const out = join(dir, 'run');
  const first = cli(['train', '-s', f, '--out', out, '--quiet', '--backend', 'wasm'], {
    env: { FREEZEFLOW_FAULT: 'stage-end:1' },
  });
  assert.equal(first.code, null, 'killed after the first stage');
  assert.equal(cli(['train', '--resume', out, '--quiet']).code, 0);
  // as Keras lays it out: train and validation are two runs with the same tags, so their curves overlay
  const kept = {
    train: keptEpochs(join(out, 'tensorboard', 'train')),
    validation: keptEpochs(join(out, 'tensorboard', 'validation')),
  };
  const history = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).history as {
    epoch: number;
    loss: number;
    acc: number;
    valLoss: number;
    valAcc: number;
  }[];
  assert.deepEqual([...kept.train.keys()], [1, 2, 3, 4]);
  assert.deepEqual([...kept.validation.keys()], [1, 2, 3, 4]);
  for (const h of history) {
    const [t, v] = [kept.train.get(h.epoch)!, kept.validation.get(h.epoch)!];
    assert.equal(t['epoch_loss'], Math.fround(h.loss), `epoch ${h.epoch} train loss`);
    assert.equal(t['epoch_accuracy'], Math.fround(h.acc));
    assert.equal(v['epoch_loss'], Math.fround(h.valLoss), `epoch ${h.epoch} val loss`);
    assert.equal(v['epoch_accuracy'], Math.fround(h.valAcc));
    assert.deepEqual(Object.keys(v).sort(), ['epoch_accuracy', 'epoch_loss'], 'validation holds only its curves');
    assert.ok(t['epoch_learning_rate']! > 0 && t['trainable_params']! > 0);
    // the per-layer telemetry, all under layers/: the head trains in every epoch, the frozen backbone never moves
    assert.ok(t['layers/grad_norm/head/dense_1']! > 0 && t['layers/weight_change/head/dense_1']! > 0);
    assert.equal(t['layers/frozen_max_change'], 0);
    const ungrouped = Object.keys(t).filter((k) => k.includes('/') && !k.startsWith('layers/'));
    assert.deepEqual(ungrouped, [], 'no per-layer tag outside layers/');
  }
});
