/**
 * An in-memory index of a database's events, shared by the memory and file adapters.
 *
 * Per event it keeps only what selectors and time ranges need (dictionary ids of type, source
 * and subject, and the effective time) in typed arrays indexed by revision, plus one sorted
 * posting list of revisions per distinct attribute value. A query walks the smallest posting
 * list its selector allows and checks the rest per revision, so its cost follows the number of
 * matching events rather than the size of the database.
 */
import type { Selector, SelectorAttr } from '../core/selectors.ts';

class GrowableUint32 {
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

class GrowableFloat64 {
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

/**
 * source + id → revisions, as an open-addressing hash table of revisions (0: empty slot) in one
 * typed array, at most half full. Each revision's key hash lives in `hashes` (by revision - 1),
 * so slots need not store it: 8 to 16 bytes per event, where a Map of numbers took about 40 and
 * slowed appends and restarts with its rehashing.
 */
class KeyTable {
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

/** One posting list: the ascending revisions in `buf[start .. start + length)`. */
interface Posting {
  buf: Uint32Array;
  start: number;
  length: number;
}

/** Revisions a posting list keeps in the shared pool before it gets an array of its own. */
const POOLED_REVISIONS = 8;

/**
 * The posting lists of one attribute, by value id. A typed array costs a few hundred bytes
 * besides its contents, which for values that name one entity (a subject per order, with a
 * handful of events) was more than all of their events' index entries. So each list's first
 * POOLED_REVISIONS revisions sit in a pool shared by all values, at id × POOLED_REVISIONS; a
 * list that outgrows its place there moves to an array of its own.
 */
class PostingLists {
  #pool = new Uint32Array(16 * POOLED_REVISIONS);
  readonly #lengths = new GrowableUint32();
  /** Per value id: 0 while its list is in the pool, else 1 + where its own array is in `#ownLists`. */
  readonly #ownSlots = new GrowableUint32();
  readonly #ownLists: GrowableUint32[] = [];

  /** Adds the empty list of the next value id. */
  addValue(): void {
    const needed = (this.#lengths.length + 1) * POOLED_REVISIONS;
    if (needed > this.#pool.length) {
      const pool = new Uint32Array(Math.max(needed, this.#pool.length * 2));
      pool.set(this.#pool);
      this.#pool = pool;
    }
    this.#lengths.push(0);
    this.#ownSlots.push(0);
  }

  push(id: number, revision: number, capacity = 4 * POOLED_REVISIONS): void {
    const n = this.#lengths.buf[id]!;
    if (n < POOLED_REVISIONS) {
      this.#pool[id * POOLED_REVISIONS + n] = revision;
    } else {
      const slot = this.#ownSlots.buf[id]!;
      if (slot !== 0) {
        this.#ownLists[slot - 1]!.push(revision);
      } else {
        const own = new GrowableUint32(Math.max(capacity, n + 1));
        for (let i = 0; i < n; i++) own.push(this.#pool[id * POOLED_REVISIONS + i]!);
        own.push(revision);
        this.#ownSlots.buf[id] = this.#ownLists.push(own);
      }
    }
    this.#lengths.buf[id] = n + 1;
  }

  /**
   * Fills the (empty) lists from each revision's value id, `ids[revision - 1]`, restoring an
   * index: lists that outgrow the pool get arrays of their exact size, with no growth slack.
   */
  restore(ids: Uint32Array, attr: SelectorAttr): void {
    const counts = new Uint32Array(this.#lengths.length);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i]! >= counts.length) throw new Error(`index state names unknown ${attr} value ${ids[i]}`);
      counts[ids[i]!]!++;
    }
    for (let i = 0; i < ids.length; i++) this.push(ids[i]!, i + 1, counts[ids[i]!]!);
  }

  length(id: number): number {
    return this.#lengths.buf[id]!;
  }

  get(id: number): Posting {
    const slot = this.#ownSlots.buf[id]!;
    if (slot !== 0) {
      const own = this.#ownLists[slot - 1]!;
      return { buf: own.buf, start: 0, length: own.length };
    }
    return { buf: this.#pool, start: id * POOLED_REVISIONS, length: this.#lengths.buf[id]! };
  }
}

/** Distinct values of one attribute, each with the ascending revisions that carry it. */
class AttributeDictionary {
  readonly values: string[] = [''];
  readonly ids = new Map<string, number>();
  readonly postings = new PostingLists();

  constructor() {
    this.postings.addValue(); // for id 0
  }

  /** Id 0 stands for "absent" (an event without subject). */
  add(value: string | undefined, revision: number): number {
    let id = 0;
    if (value !== undefined) {
      id = this.ids.get(value) ?? 0;
      if (id === 0) id = this.addValue(value);
    }
    this.postings.push(id, revision);
    return id;
  }

  addValue(value: string): number {
    const id = this.values.length;
    this.values.push(value);
    this.ids.set(value, id);
    this.postings.addValue();
    return id;
  }

  idsWithPrefix(prefix: string): number[] {
    const out: number[] = [];
    for (let id = 1; id < this.values.length; id++) if (this.values[id]!.startsWith(prefix)) out.push(id);
    return out;
  }
}

export interface IndexedEvent {
  source: string;
  type: string;
  subject?: string;
  id: string;
  effectiveTimeMs: number;
}

/** A source of candidate revisions in one direction, within inclusive bounds. */
type Cursor = () => number | undefined;

export interface IndexState {
  head: number;
  /** Distinct values per attribute; a value's dictionary id is its position + 1. */
  values: Record<SelectorAttr, string[]>;
  /** Per revision (index revision - 1): dictionary ids, 0 for absent. */
  attrIds: Record<SelectorAttr, Uint32Array>;
  times: Float64Array;
  keyHashes: Uint32Array;
}

export interface IndexScan {
  selector?: Selector;
  fromRevision: number;
  toRevision: number;
  fromTimeMs?: number;
  toTimeMs?: number;
  direction: 'forward' | 'backward';
}

export class EventIndex {
  private readonly dicts: Record<SelectorAttr, AttributeDictionary> = {
    stream: new AttributeDictionary(),
    event_type: new AttributeDictionary(),
    subject: new AttributeDictionary(),
  };
  private readonly attrIds: Record<SelectorAttr, GrowableUint32> = {
    stream: new GrowableUint32(),
    event_type: new GrowableUint32(),
    subject: new GrowableUint32(),
  };
  private readonly times = new GrowableFloat64();
  /** Each revision's key hash: a 30-bit hash of source + id (a snapshot keeps these). */
  private readonly keyHashByRevision = new GrowableUint32();
  /**
   * source + id → revision, by the 30-bit hash rather than the string to keep memory per event
   * small. Collisions are possible, so a hit is only a candidate: callers compare the stored
   * event's source and id before treating it as a duplicate.
   */
  private readonly keys = new KeyTable(this.keyHashByRevision);

  /** The latest revision indexed; revisions are dense from 1. */
  get head(): number {
    return this.times.length;
  }

  add(revision: number, event: IndexedEvent): void {
    if (revision !== this.head + 1) throw new Error(`index expects revision ${this.head + 1}, got ${revision}`);
    this.attrIds.stream.push(this.dicts.stream.add(event.source, revision));
    this.attrIds.event_type.push(this.dicts.event_type.add(event.type, revision));
    this.attrIds.subject.push(this.dicts.subject.add(event.subject, revision));
    this.times.push(event.effectiveTimeMs);
    this.keyHashByRevision.push(keyHash(event.source, event.id));
    this.keys.insert(revision);
  }

  /**
   * The index as plain arrays (views, not copies: entries below `head` never change), for
   * persisting. Dictionary value lists are copied since they keep growing.
   */
  exportState(): IndexState {
    const head = this.head;
    const attrs = ['stream', 'event_type', 'subject'] as const;
    return {
      head,
      values: Object.fromEntries(attrs.map((a) => [a, this.dicts[a].values.slice(1)])) as IndexState['values'],
      attrIds: Object.fromEntries(attrs.map((a) => [a, this.attrIds[a].buf.subarray(0, head)])) as IndexState['attrIds'],
      times: this.times.buf.subarray(0, head),
      keyHashes: this.keyHashByRevision.buf.subarray(0, head),
    };
  }

  /** An index from a persisted state; it takes over the typed arrays of `state`, which the caller must not change. */
  static fromState(state: IndexState): EventIndex {
    const index = new EventIndex();
    for (const attr of ['stream', 'event_type', 'subject'] as const) {
      const dict = index.dicts[attr];
      for (const value of state.values[attr]) dict.addValue(value);
      const ids = state.attrIds[attr];
      index.attrIds[attr].buf = ids;
      index.attrIds[attr].length = ids.length;
      dict.postings.restore(ids, attr);
    }
    index.times.buf = state.times;
    index.times.length = state.head;
    index.keyHashByRevision.buf = state.keyHashes;
    index.keyHashByRevision.length = state.head;
    index.keys.reserve(state.head);
    for (let revision = 1; revision <= state.head; revision++) index.keys.insert(revision);
    return index;
  }

  /** Revisions that may hold an event with this source and id (hash candidates). */
  candidatesForKey(source: string, id: string): number[] {
    return this.keys.lookup(keyHash(source, id));
  }

  /** Distinct values of an attribute starting with `prefix`, ascending, for type-ahead. */
  distinctValues(attr: SelectorAttr, prefix: string, limit: number): string[] {
    const dict = this.dicts[attr];
    return dict.idsWithPrefix(prefix).map((id) => dict.values[id]!).sort().slice(0, limit);
  }

  matchesAt(selector: Selector, revision: number): boolean {
    const i = revision - 1;
    switch (selector.type) {
      case 'equals': {
        const id = this.attrIds[selector.attr].buf[i]!;
        if (selector.value === null) return id === 0;
        return id !== 0 && this.dicts[selector.attr].values[id] === selector.value;
      }
      case 'starts_with': {
        const id = this.attrIds[selector.attr].buf[i]!;
        return id !== 0 && this.dicts[selector.attr].values[id]!.startsWith(selector.value);
      }
      case 'and':
        return selector.selectors.every((s) => this.matchesAt(s, revision));
      case 'or':
        return selector.selectors.some((s) => this.matchesAt(s, revision));
    }
  }

  /**
   * Yields matching revisions in order. Candidates come from posting lists; each is then
   * checked against the whole selector and the time range.
   */
  *scan(scan: IndexScan): Generator<number> {
    const from = Math.max(1, scan.fromRevision);
    const to = Math.min(this.head, scan.toRevision);
    if (from > to) return;
    const forward = scan.direction === 'forward';
    const next = scan.selector
      ? this.cursorFor(scan.selector, from, to, forward)
      : rangeCursor(from, to, forward);
    const { fromTimeMs, toTimeMs, selector } = scan;
    const times = this.times.buf;
    for (let rev = next(); rev !== undefined; rev = next()) {
      if (selector && !this.matchesAt(selector, rev)) continue;
      const t = times[rev - 1]!;
      if (fromTimeMs !== undefined && !(t >= fromTimeMs)) continue;
      if (toTimeMs !== undefined && !(t <= toTimeMs)) continue;
      yield rev;
    }
  }

  /** The latest revision ≤ `atRevision` whose event matches, or 0. */
  latestMatching(selector: Selector | undefined, atRevision: number): number {
    const it = this.scan({ selector, fromRevision: 1, toRevision: atRevision, direction: 'backward' });
    return it.next().value ?? 0;
  }

  /** Estimated number of candidates a selector's cursor yields, to pick the cheapest branch of an AND. */
  private estimate(selector: Selector): number {
    switch (selector.type) {
      case 'equals': {
        const id = selector.value === null ? 0 : this.dicts[selector.attr].ids.get(selector.value);
        return id === undefined ? 0 : this.dicts[selector.attr].postings.length(id);
      }
      case 'starts_with':
        return this.dicts[selector.attr]
          .idsWithPrefix(selector.value)
          .reduce((n, id) => n + this.dicts[selector.attr].postings.length(id), 0);
      case 'and':
        return Math.min(...selector.selectors.map((s) => this.estimate(s)));
      case 'or':
        return selector.selectors.reduce((n, s) => n + this.estimate(s), 0);
    }
  }

  private cursorFor(selector: Selector, from: number, to: number, forward: boolean): Cursor {
    switch (selector.type) {
      case 'equals': {
        const dict = this.dicts[selector.attr];
        const id = selector.value === null ? 0 : dict.ids.get(selector.value);
        return id === undefined ? emptyCursor : postingCursor(dict.postings.get(id), from, to, forward);
      }
      case 'starts_with': {
        const dict = this.dicts[selector.attr];
        return mergeCursors(
          dict.idsWithPrefix(selector.value).map((id) => postingCursor(dict.postings.get(id), from, to, forward)),
          forward,
        );
      }
      case 'and': {
        // Drive by the most selective branch; scan() checks the others per revision.
        let best = selector.selectors[0]!;
        let bestSize = Infinity;
        for (const s of selector.selectors) {
          const size = this.estimate(s);
          if (size < bestSize) [best, bestSize] = [s, size];
        }
        return this.cursorFor(best, from, to, forward);
      }
      case 'or':
        return mergeCursors(
          selector.selectors.map((s) => this.cursorFor(s, from, to, forward)),
          forward,
        );
    }
  }
}

const emptyCursor: Cursor = () => undefined;

function rangeCursor(from: number, to: number, forward: boolean): Cursor {
  let rev = forward ? from : to;
  return forward ? () => (rev <= to ? rev++ : undefined) : () => (rev >= from ? rev-- : undefined);
}

function postingCursor({ buf, start, length }: Posting, from: number, to: number, forward: boolean): Cursor {
  const end = start + length;
  if (forward) {
    let pos = lowerBound(buf, start, end, from);
    return () => {
      if (pos >= end) return undefined;
      const rev = buf[pos++]!;
      return rev <= to ? rev : undefined;
    };
  }
  let pos = lowerBound(buf, start, end, to + 1) - 1;
  return () => {
    if (pos < start) return undefined;
    const rev = buf[pos--]!;
    return rev >= from ? rev : undefined;
  };
}

/** First position in `buf[lo .. hi)` (ascending) whose value is ≥ v. */
function lowerBound(buf: Uint32Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (buf[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Merges ordered cursors into one ordered cursor without repeats. */
function mergeCursors(cursors: Cursor[], forward: boolean): Cursor {
  if (cursors.length === 0) return emptyCursor;
  if (cursors.length === 1) return cursors[0]!;
  const heads = cursors.map((c) => c());
  let last: number | undefined;
  return () => {
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        if (best < 0 || (forward ? h < heads[best]! : h > heads[best]!)) best = i;
      }
      if (best < 0) return undefined;
      const rev = heads[best]!;
      heads[best] = cursors[best]!();
      if (rev !== last) {
        last = rev;
        return rev;
      }
    }
  };
}

/** FNV-1a over source, a separator and id, cut to 30 bits. */
function keyHash(source: string, id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xffff, 0x01000193);
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 2) & 0x3fffffff;
}
