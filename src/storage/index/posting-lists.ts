/**
 * Posting lists: per distinct value of an attribute, the ascending revisions of the events that
 * carry it, so a selector on the value walks only its own events.
 */
import { GrowableUint32 } from './growable.ts';

/** One posting list: the ascending revisions in `buf[start .. start + length)`. */
export interface Posting {
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
export class PostingLists {
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
   * Fills the (empty) lists from each entry's value id, restoring an index: `ids[i]` is the value
   * of revision `revisions[i]`, or of revision i + 1 when every revision has one. Lists that
   * outgrow the pool get arrays of their exact size, with no growth slack.
   */
  restore(ids: Uint32Array, what: string, revisions?: Uint32Array): void {
    const counts = new Uint32Array(this.#lengths.length);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i]! >= counts.length) throw new Error(`index state names unknown ${what} value ${ids[i]}`);
      counts[ids[i]!]!++;
    }
    for (let i = 0; i < ids.length; i++) this.push(ids[i]!, revisions ? revisions[i]! : i + 1, counts[ids[i]!]!);
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
export class AttributeDictionary {
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
