// A protobuf reader for the parts of onnx.proto the importer needs (ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto). Written from the wire format: varints, 64-bit, length-
// delimited and 32-bit fields; unknown fields are skipped, so newer ONNX files still read.

/** Thrown for bytes that are not a well-formed protobuf message. */
export class ProtoError extends Error {}

export class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.byteLength,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a Number (int64 values beyond 2^53 lose precision: ONNX uses them only as "to the end"). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return i === 9 || result >= 2 ** 63 ? result - 2 ** 64 : result; // two's complement int64
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (n < 0 || this.pos + n > this.end) throw new ProtoError('length-delimited field runs past its message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return new TextDecoder().decode(this.bytes());
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw new ProtoError('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  sub(): Reader {
    const b = this.bytes();
    return new Reader(b);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtoError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new ProtoError('field runs past its message');
  }

  /** Calls `field(number, wire)` for each field; the callback reads it or returns false to skip it. */
  fields(field: (no: number, wire: number) => boolean | void): void {
    while (!this.done) {
      const key = this.varint();
      const no = Math.floor(key / 8);
      const wire = key & 7;
      if (no === 0) throw new ProtoError('field number 0');
      if (field(no, wire) === false) this.skip(wire);
    }
  }

  /** A repeated scalar that may be packed (wire 2) or not. */
  repeated(wire: number, one: () => number, into: number[]): void {
    if (wire !== 2) {
      into.push(one());
      return;
    }
    const n = this.varint();
    const stop = this.pos + n;
    if (n < 0 || stop > this.end) throw new ProtoError('packed field runs past its message');
    while (this.pos < stop) into.push(one());
  }
}
