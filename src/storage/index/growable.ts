/** Typed arrays that grow by doubling: the columns of the event index, a few bytes per event. */
export class GrowableUint32 {
  buf: Uint32Array;
  length = 0;
  constructor(capacity = 16) {
    this.buf = new Uint32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint32Array(Math.max(16, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
}

export class GrowableFloat64 {
  buf: Float64Array = new Float64Array(16);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(Math.max(16, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
}
