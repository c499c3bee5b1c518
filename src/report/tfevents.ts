// TensorBoard event files without TensorFlow: TFRecord framing (length, masked CRC32C of it, data,
// masked CRC32C of the data) around tensorflow.Event protos, encoded by hand (the few fields scalars need).

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; // Castagnoli, reflected
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add a constant (so a CRC of CRCs is not a CRC). */
const masked = (crc: number): number => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, masked(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, masked(crc32c(data)), true);
  return out;
}

// ---- protobuf, the wire format of the fields used ---------------------------------------------------

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const bytesField = (field: number, b: Uint8Array | number[]) => [...key(field, 2), ...varint(b.length), ...b];
const utf8 = (s: string) => [...new TextEncoder().encode(s)];

function fixed(bytes: number, write: (v: DataView) => void): number[] {
  const b = new Uint8Array(bytes);
  write(new DataView(b.buffer));
  return [...b];
}

/** A scalar: Summary.Value { tag = 1, simple_value = 2 (float) }. */
const scalarValue = (tag: string, value: number) =>
  bytesField(1, [...bytesField(1, utf8(tag)), ...key(2, 5), ...fixed(4, (v) => v.setFloat32(0, value, true))]);

/** Event { wall_time = 1 (double), step = 2, file_version = 3, summary = 5, session_log = 6 }. */
function event(wallTime: number, step: number, body: number[]): Uint8Array {
  return Uint8Array.from([
    ...key(1, 1),
    ...fixed(8, (v) => v.setFloat64(0, wallTime, true)),
    ...key(2, 0),
    ...varint(step),
    ...body,
  ]);
}

export const fileVersionEvent = (wallTime: number) => event(wallTime, 0, bytesField(3, utf8('brain.Event:2')));

export const scalarsEvent = (wallTime: number, step: number, scalars: Record<string, number>) =>
  event(
    wallTime,
    step,
    bytesField(
      5,
      Object.entries(scalars).flatMap(([tag, v]) => scalarValue(tag, v)),
    ),
  );

/**
 * SessionLog { status = 1: START }: TensorBoard drops what it had at this step and after, so the epochs
 * a resumed run trains again replace the first process's instead of doubling them.
 */
export const sessionStartEvent = (wallTime: number, step: number) =>
  event(wallTime, step, bytesField(6, key(1, 0).concat(varint(1))));
