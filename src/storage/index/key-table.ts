import type { GrowableUint32 } from './growable.ts';

/**
 * source + id → revisions, as an open-addressing hash table of revisions (0: empty slot) in one
 * typed array, at most half full. Each revision's key hash lives in `hashes` (by revision - 1),
 * so slots need not store it: 8 to 16 bytes per event, where a Map of numbers took about 40 and
 * slowed appends and restarts with its rehashing.
 */
export class KeyTable {
  #slots = new Uint32Array(1024);
  #mask = 1023;
  #count = 0;

  constructor(private readonly hashes: GrowableUint32) {}

  /** Sized for `count` keys up front, when they are all known (restoring an index). */
  reserve(count: number): void {
    let size = this.#slots.length;
    while (count * 2 > size) size *= 2;
    if (size !== this.#slots.length) this.#rehash(size);
  }

  /** Adds `revision`, whose hash must already be in `hashes`: the next one, as revisions are dense from 1. */
  insert(revision: number): void {
    if ((this.#count + 1) * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    this.#place(revision);
    this.#count++;
  }

  /** Revisions whose key hash is `hash`, ascending (linear probing keeps insertion order). */
  lookup(hash: number): number[] {
    const out: number[] = [];
    const slots = this.#slots;
    const hashes = this.hashes.buf;
    for (let i = slotOf(hash) & this.#mask; slots[i] !== 0; i = (i + 1) & this.#mask) {
      if (hashes[slots[i]! - 1] === hash) out.push(slots[i]!);
    }
    return out;
  }

  #place(revision: number): void {
    const slots = this.#slots;
    let i = slotOf(this.hashes.buf[revision - 1]!) & this.#mask;
    while (slots[i] !== 0) i = (i + 1) & this.#mask;
    slots[i] = revision;
  }

  #rehash(size: number): void {
    this.#slots = new Uint32Array(size);
    this.#mask = size - 1;
    // The table holds exactly revisions 1..count (revisions are dense); placing them in
    // ascending order keeps each probe chain in insertion order.
    for (let revision = 1; revision <= this.#count; revision++) this.#place(revision);
  }
}

/** Spreads a key hash over all bits (murmur3's finaliser): linear probing suffers from clustered low bits. */
function slotOf(hash: number): number {
  let h = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over source, a separator and id, cut to 30 bits. */
export function keyHash(source: string, id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xffff, 0x01000193);
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 2) & 0x3fffffff;
}
