/**
 * Index snapshots let a restart skip re-reading the whole log: the in-memory index of a
 * database, with where each event sits in the log, written next to it. On start the snapshot is
 * loaded and only the log after it is scanned. A snapshot that is missing, damaged or does not
 * fit the log is ignored and the index is rebuilt from the log alone, so snapshots never decide
 * what is stored: the log does.
 *
 *   magic u32 | version u32 | header length u32 | crc32 of the rest u32 | header JSON | pad to 8
 *   times f64[head] | offsets f64[head] | stream ids u32[head] | type ids u32[head]
 *   subject ids u32[head] | lengths u32[head] | key hashes u32[head]
 */
import { open, readFile, rename } from 'node:fs/promises';
import type { IndexState } from '../event-index.ts';
import { zlib } from '../node-zlib.ts';

const MAGIC = 0x3158_4346; // "FCX1"
const VERSION = 1;

export interface SnapshotContent {
  index: IndexState;
  offsets: Float64Array;
  lengths: Uint32Array;
  /** Log bytes the snapshot covers: its last event ends here. */
  logSize: number;
}

interface Header {
  head: number;
  logSize: number;
  values: IndexState['values'];
}

export async function writeSnapshot(path: string, content: SnapshotContent): Promise<void> {
  const { index, offsets, lengths, logSize } = content;
  const head = index.head;
  const header = Buffer.from(JSON.stringify({ head, logSize, values: index.values } satisfies Header));
  const headerEnd = 16 + header.length;
  const dataStart = Math.ceil(headerEnd / 8) * 8;
  const arrays: ArrayBufferView[] = [
    index.times,
    offsets.subarray(0, head),
    index.attrIds.stream,
    index.attrIds.event_type,
    index.attrIds.subject,
    lengths.subarray(0, head),
    index.keyHashes,
  ];
  const total = dataStart + arrays.reduce((n, a) => n + a.byteLength, 0);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 16);
  let pos = dataStart;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), pos);
    pos += a.byteLength;
  }
  out.writeUInt32LE(zlib.crc32(out.subarray(16)), 12);
  // Write aside and rename, so a crash leaves the old snapshot or the new one, never half of one.
  const staging = `${path}.tmp`;
  const handle = await open(staging, 'w');
  try {
    await handle.writeFile(out);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(staging, path);
}

/** The snapshot at `path`, or undefined when there is none or it cannot be trusted. */
export async function readSnapshot(path: string): Promise<SnapshotContent | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    return undefined;
  }
  if (buf.length < 16 || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return undefined;
  if (zlib.crc32(buf.subarray(16)) !== buf.readUInt32LE(12)) return undefined;
  const headerLength = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + headerLength)) as Header;
  const head = header.head;
  let pos = Math.ceil((16 + headerLength) / 8) * 8;
  // Copy into fresh, aligned arrays (Buffer pools may not be 8-byte aligned).
  const take = <T extends Float64Array | Uint32Array>(Kind: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T => {
    const bytes = head * Kind.BYTES_PER_ELEMENT;
    const copy = new ArrayBuffer(bytes);
    new Uint8Array(copy).set(buf.subarray(pos, pos + bytes));
    pos += bytes;
    return new Kind(copy);
  };
  const times = take(Float64Array);
  const offsets = take(Float64Array);
  const stream = take(Uint32Array);
  const eventType = take(Uint32Array);
  const subject = take(Uint32Array);
  const lengths = take(Uint32Array);
  const keyHashes = take(Uint32Array);
  if (pos !== buf.length) return undefined;
  return {
    index: { head, values: header.values, attrIds: { stream, event_type: eventType, subject }, times, keyHashes },
    offsets,
    lengths,
    logSize: header.logSize,
  };
}
