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
  buf = new Uint32Array(16);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint32Array(Math.max(16, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  /** First position whose value is ≥ v. */
  lowerBound(v: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.buf[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

class GrowableFloat64 {
  buf = new Float64Array(16);
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

/** Distinct values of one attribute, each with the ascending revisions that carry it. */
class AttributeDictionary {
  readonly values: string[] = [''];
  readonly ids = new Map<string, number>();
  readonly postings: GrowableUint32[] = [new GrowableUint32()];

  /** Id 0 stands for "absent" (an event without subject). */
  add(value: string | undefined, revision: number): number {
    let id = 0;
    if (value !== undefined) {
      id = this.ids.get(value) ?? 0;
      if (id === 0) {
        id = this.values.length;
        this.values.push(value);
        this.ids.set(value, id);
        this.postings.push(new GrowableUint32());
      }
    }
    this.postings[id]!.push(revision);
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
  /**
   * source + id → revision, keyed by a 30-bit hash rather than the string to keep memory per
   * event small (and keys small integers, which maps store cheaply). Collisions are possible, so
   * a hit is only a candidate: callers compare the stored event's source and id before treating
   * it as a duplicate.
   */
  private readonly keyHashes = new Map<number, number | number[]>();
  /** Each revision's key hash, so a snapshot can rebuild `keyHashes` without the events. */
  private readonly keyHashByRevision = new GrowableUint32();

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
    const h = keyHash(event.source, event.id);
    this.keyHashByRevision.push(h);
    this.rememberKey(h, revision);
  }

  private rememberKey(h: number, revision: number): void {
    const prev = this.keyHashes.get(h);
    if (prev === undefined) this.keyHashes.set(h, revision);
    else if (typeof prev === 'number') this.keyHashes.set(h, [prev, revision]);
    else prev.push(revision);
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

  static fromState(state: IndexState): EventIndex {
    const index = new EventIndex();
    for (const attr of ['stream', 'event_type', 'subject'] as const) {
      const dict = index.dicts[attr];
      for (const value of state.values[attr]) {
        dict.ids.set(value, dict.values.length);
        dict.values.push(value);
        dict.postings.push(new GrowableUint32());
      }
      const ids = state.attrIds[attr];
      index.attrIds[attr].buf = Uint32Array.from(ids);
      index.attrIds[attr].length = ids.length;
      // Size each posting list exactly, so a restored index carries no growth slack.
      const counts = new Uint32Array(dict.values.length);
      for (let i = 0; i < ids.length; i++) {
        if (ids[i]! >= counts.length) throw new Error(`index state names unknown ${attr} value ${ids[i]}`);
        counts[ids[i]!]!++;
      }
      dict.postings.forEach((posting, id) => (posting.buf = new Uint32Array(counts[id]!)));
      for (let i = 0; i < ids.length; i++) dict.postings[ids[i]!]!.push(i + 1);
    }
    index.times.buf = Float64Array.from(state.times);
    index.times.length = state.head;
    index.keyHashByRevision.buf = Uint32Array.from(state.keyHashes);
    index.keyHashByRevision.length = state.head;
    for (let i = 0; i < state.head; i++) index.rememberKey(state.keyHashes[i]!, i + 1);
    return index;
  }

  /** Revisions that may hold an event with this source and id (hash candidates). */
  candidatesForKey(source: string, id: string): number[] {
    const hit = this.keyHashes.get(keyHash(source, id));
    return hit === undefined ? [] : typeof hit === 'number' ? [hit] : hit;
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
        return id === undefined ? 0 : this.dicts[selector.attr].postings[id]!.length;
      }
      case 'starts_with':
        return this.dicts[selector.attr]
          .idsWithPrefix(selector.value)
          .reduce((n, id) => n + this.dicts[selector.attr].postings[id]!.length, 0);
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
        return id === undefined ? emptyCursor : postingCursor(dict.postings[id]!, from, to, forward);
      }
      case 'starts_with': {
        const dict = this.dicts[selector.attr];
        return mergeCursors(
          dict.idsWithPrefix(selector.value).map((id) => postingCursor(dict.postings[id]!, from, to, forward)),
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

function postingCursor(list: GrowableUint32, from: number, to: number, forward: boolean): Cursor {
  const buf = list.buf;
  if (forward) {
    let pos = list.lowerBound(from);
    const end = list.length;
    return () => {
      if (pos >= end) return undefined;
      const rev = buf[pos++]!;
      return rev <= to ? rev : undefined;
    };
  }
  let pos = list.lowerBound(to + 1) - 1;
  return () => {
    if (pos < 0) return undefined;
    const rev = buf[pos--]!;
    return rev >= from ? rev : undefined;
  };
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
