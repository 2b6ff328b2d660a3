/**
 * The on-disk format of a database's event log: one frame per transaction, so a transaction is
 * on disk whole or not at all.
 *
 *   magic u32 | body length u32 | crc32 u32 (of count + body) | event count u32 | body
 *   body = per event: json length u32 | stored event JSON (UTF-8)
 *
 * All integers are little-endian. A frame whose length runs past the end of the file or whose
 * checksum does not match is a torn write from a crash: it and everything after it are cut off.
 */
import type { StoredEventText } from '../../core/events.ts';
import { zlib } from '../node-zlib.ts';

export const FRAME_MAGIC = 0x3154_4346; // "FCT1"
export const FRAME_HEADER_BYTES = 16;

export interface FramedEvent {
  /** Byte offset of the event JSON within the file. */
  offset: number;
  length: number;
}

/**
 * Builds one frame; `jsonOffsets` are positions of each event's JSON relative to the frame start.
 * Events kept as the bytes they arrived with are copied, not encoded.
 */
export function encodeFrame(jsons: readonly StoredEventText[]): { frame: Buffer; jsonOffsets: FramedEvent[] } {
  // Encoded straight into the frame: no buffer per event.
  const lengths = jsons.map((j) => (typeof j === 'string' ? Buffer.byteLength(j, 'utf8') : j.end - j.start + Buffer.byteLength(j.tail, 'utf8')));
  const bodyLength = lengths.reduce((n, length) => n + 4 + length, 0);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLength);
  frame.writeUInt32LE(FRAME_MAGIC, 0);
  frame.writeUInt32LE(bodyLength, 4);
  frame.writeUInt32LE(jsons.length, 12);
  const jsonOffsets: FramedEvent[] = [];
  let pos = FRAME_HEADER_BYTES;
  for (let i = 0; i < jsons.length; i++) {
    const length = lengths[i]!;
    const json = jsons[i]!;
    frame.writeUInt32LE(length, pos);
    if (typeof json === 'string') frame.write(json, pos + 4, length, 'utf8');
    else {
      const headLength = json.end - json.start;
      frame.set(json.body.subarray(json.start, json.end), pos + 4);
      frame.write(json.tail, pos + 4 + headLength, length - headLength, 'utf8');
    }
    jsonOffsets.push({ offset: pos + 4, length });
    pos += 4 + length;
  }
  frame.writeUInt32LE(zlib.crc32(frame.subarray(12)), 8);
  return { frame, jsonOffsets };
}

export type FrameParse =
  | { kind: 'frame'; size: number; events: FramedEvent[] }
  | { kind: 'need-more'; size: number }
  | { kind: 'torn'; reason: string };

/**
 * Parses the frame at `pos` of `buf` (which holds file bytes from `bufFileOffset`). Asks for more
 * bytes when the frame is longer than what is buffered and the file may still hold it.
 */
export function parseFrame(buf: Buffer, pos: number, bufFileOffset: number): FrameParse {
  if (buf.length - pos < FRAME_HEADER_BYTES) return { kind: 'need-more', size: FRAME_HEADER_BYTES };
  if (buf.readUInt32LE(pos) !== FRAME_MAGIC) return { kind: 'torn', reason: 'bad frame magic' };
  const bodyLength = buf.readUInt32LE(pos + 4);
  const size = FRAME_HEADER_BYTES + bodyLength;
  if (buf.length - pos < size) return { kind: 'need-more', size };
  const frame = buf.subarray(pos, pos + size);
  if (zlib.crc32(frame.subarray(12)) !== frame.readUInt32LE(8)) return { kind: 'torn', reason: 'checksum mismatch' };
  const count = frame.readUInt32LE(12);
  const events: FramedEvent[] = [];
  let p = FRAME_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (p + 4 > size) return { kind: 'torn', reason: 'event length past frame end' };
    const length = frame.readUInt32LE(p);
    if (p + 4 + length > size) return { kind: 'torn', reason: 'event past frame end' };
    events.push({ offset: bufFileOffset + pos + p + 4, length });
    p += 4 + length;
  }
  if (p !== size) return { kind: 'torn', reason: 'frame body length mismatch' };
  return { kind: 'frame', size, events };
}
