// A protobuf writer for the parts of onnx.proto the exporter writes: varint, 32-bit and length-delimited
// fields. A message is a list of byte chunks and their total size, so a 45 MB initializer is copied once,
// when the model is finished, not at every level of nesting.

export class Message {
  private readonly parts: Uint8Array[] = [];
  size = 0;

  private push(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.byteLength;
    return this;
  }

  private key(no: number, wire: number): this {
    return this.push(varint(no * 8 + wire));
  }

  int(no: number, n: number | bigint): this {
    return this.key(no, 0).push(varint(n));
  }

  float(no: number, x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return this.key(no, 5).push(b);
  }

  bytes(no: number, b: Uint8Array): this {
    return this.key(no, 2).push(varint(b.byteLength)).push(b);
  }

  string(no: number, s: string): this {
    return this.bytes(no, new TextEncoder().encode(s));
  }

  message(no: number, m: Message): this {
    return this.key(no, 2).push(varint(m.size)).append(m);
  }

  /** Another message's fields appended as this message's own (repeated fields built elsewhere). */
  append(m: Message): this {
    for (const p of m.parts) this.push(p);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** Base-128 varint; negative int64 values as their two's complement (ten bytes), as protobuf does. */
export function varint(n: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(typeof n === 'number' ? Math.trunc(n) : n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Uint8Array.from(out);
}
