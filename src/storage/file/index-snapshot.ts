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
 *   then per extension named in the header: revisions u32[count] | value ids u32[count]
 *
 * Version 1 snapshots, written before extension attributes were indexed, are not read: they
 * say nothing of the extensions of the events they cover, so the index is rebuilt from the log.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import type { IndexState } from '../event-index.ts';
import { zlib } from '../node-zlib.ts';

const MAGIC = 0x3158_4346; // "FCX1"
const VERSION = 2;

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
  /** In the order their arrays follow the fixed ones. */
  extensions: Array<{ name: string; values: string[]; count: number }>;
}

export async function writeSnapshot(path: string, content: SnapshotContent): Promise<void> {
  const { index, offsets, lengths, logSize } = content;
  const head = index.head;
  const extensions = Object.entries(index.extensions);
  const header: Header = { head, logSize, values: index.values, extensions: extensions.map(([name, c]) => ({ name, values: c.values, count: c.revisions.length })) };
  const headerJson = Buffer.from(JSON.stringify(header));
  const headerEnd = 16 + headerJson.length;
  const dataStart = Math.ceil(headerEnd / 8) * 8;
  const prefix = Buffer.alloc(dataStart);
  prefix.writeUInt32LE(MAGIC, 0);
  prefix.writeUInt32LE(VERSION, 4);
  prefix.writeUInt32LE(headerJson.length, 8);
  headerJson.copy(prefix, 16);
  // The arrays are written from where they are, not gathered into one buffer first: at a few
  // dozen bytes per event, that copy would briefly take as much memory as the index itself.
  const parts = [
    prefix,
    ...[
      index.times,
      offsets.subarray(0, head),
      index.attrIds.stream,
      index.attrIds.event_type,
      index.attrIds.subject,
      lengths.subarray(0, head),
      index.keyHashes,
      ...extensions.flatMap(([, c]) => [c.revisions, c.ids]),
    ].map(
      (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    ),
  ];
  let crc = zlib.crc32(prefix.subarray(16));
  for (const part of parts.slice(1)) crc = zlib.crc32(part, crc);
  prefix.writeUInt32LE(crc, 12);
  // Write aside and rename, so a crash leaves the old snapshot or the new one, never half of one.
  const staging = `${path}.tmp`;
  const handle = await open(staging, 'w');
  try {
    let position = 0;
    for (const part of parts) {
      let written = 0;
      while (written < part.byteLength) written += (await handle.write(part, written, part.byteLength - written, position + written)).bytesWritten;
      position += part.byteLength;
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(staging, path);
}

/** The snapshot at `path`, or undefined when there is none or it cannot be trusted. */
export async function readSnapshot(path: string): Promise<SnapshotContent | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    const fixed = Buffer.alloc(16);
    if (size < 16 || !(await readFully(handle, fixed, 0))) return undefined;
    if (fixed.readUInt32LE(0) !== MAGIC || fixed.readUInt32LE(4) !== VERSION) return undefined;
    const headerLength = fixed.readUInt32LE(8);
    const dataStart = Math.ceil((16 + headerLength) / 8) * 8;
    if (dataStart > size) return undefined;
    const headerBytes = Buffer.alloc(dataStart - 16);
    if (!(await readFully(handle, headerBytes, 16))) return undefined;
    let crc = zlib.crc32(headerBytes);
    let header: Header;
    try {
      header = JSON.parse(headerBytes.toString('utf8', 0, headerLength)) as Header;
    } catch {
      return undefined;
    }
    const head = header.head;
    const extensionHeaders = Array.isArray(header.extensions) ? header.extensions : [];
    if (extensionHeaders.some((e) => !Number.isSafeInteger(e.count) || e.count < 0 || e.count > head)) return undefined;
    const extensionBytes = extensionHeaders.reduce((n, e) => n + 8 * e.count, 0);
    if (!Number.isSafeInteger(head) || head < 0 || dataStart + head * BYTES_PER_EVENT + extensionBytes !== size) return undefined;
    // Read straight into fresh (so aligned) arrays: no copy of the whole file in between.
    let position = dataStart;
    const take = async <T extends Float64Array | Uint32Array>(Kind: { new (length: number): T }, length = head): Promise<T | undefined> => {
      const array = new Kind(length);
      const bytes = new Uint8Array(array.buffer, 0, array.byteLength);
      if (!(await readFully(handle, bytes, position))) return undefined;
      crc = zlib.crc32(bytes, crc);
      position += bytes.byteLength;
      return array;
    };
    const times = await take(Float64Array);
    const offsets = await take(Float64Array);
    const stream = await take(Uint32Array);
    const eventType = await take(Uint32Array);
    const subject = await take(Uint32Array);
    const lengths = await take(Uint32Array);
    const keyHashes = await take(Uint32Array);
    if (!times || !offsets || !stream || !eventType || !subject || !lengths || !keyHashes) return undefined;
    const extensions: IndexState['extensions'] = {};
    for (const { name, values, count } of extensionHeaders) {
      const revisions = await take(Uint32Array, count);
      const ids = await take(Uint32Array, count);
      if (!revisions || !ids) return undefined;
      extensions[name] = { values, revisions, ids };
    }
    if (crc !== fixed.readUInt32LE(12)) return undefined;
    return {
      index: { head, values: header.values, attrIds: { stream, event_type: eventType, subject }, times, keyHashes, extensions },
      offsets,
      lengths,
      logSize: header.logSize,
    };
  } finally {
    await handle.close();
  }
}

/** Bytes per event after the header: two f64 and five u32 arrays (extensions come on top). */
const BYTES_PER_EVENT = 2 * 8 + 5 * 4;

/** Fills `bytes` from `position`; false if the file ends first. */
async function readFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<boolean> {
  let filled = 0;
  while (filled < bytes.byteLength) {
    const { bytesRead } = await handle.read(bytes, filled, bytes.byteLength - filled, position + filled);
    if (bytesRead === 0) return false;
    filled += bytesRead;
  }
  return true;
}
