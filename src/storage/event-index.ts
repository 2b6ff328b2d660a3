/**
 * An in-memory index of a database's events, shared by the memory and file adapters.
 *
 * Per event it keeps only what selectors and time ranges need (dictionary ids of type, source
 * and subject, and the effective time) in typed arrays indexed by revision, plus one sorted
 * posting list of revisions per distinct attribute value; extension attributes get sparse
 * columns of their own (index/extension-column.ts). A query walks the smallest posting list its
 * selector allows and checks the rest per revision, so its cost follows the number of matching
 * events rather than the size of the database.
 */
import { extensionName, extensionsOf, type BuiltInAttr, type Selector, type SelectorAttr } from '../core/selectors.ts';
import { emptyCursor, mergeCursors, postingCursor, rangeCursor, type Cursor } from './index/cursors.ts';
import { ExtensionColumn, type ExtensionColumnState } from './index/extension-column.ts';
import { GrowableFloat64, GrowableUint32 } from './index/growable.ts';
import { keyHash, KeyTable } from './index/key-table.ts';
import { AttributeDictionary } from './index/posting-lists.ts';

export interface IndexedEvent {
  source: string;
  type: string;
  subject?: string;
  id: string;
  effectiveTimeMs: number;
  /**
   * The event's extension attributes with their canonical values; when left out they are taken
   * from the object's own properties (a stored event passed whole). No CloudEvent attribute can
   * have this name: theirs are lower-case.
   */
  extensionAttributes?: ReadonlyArray<readonly [name: string, value: string]>;
  readonly [attribute: string]: unknown;
}

export interface IndexState {
  head: number;
  /** Distinct values per attribute; a value's dictionary id is its position + 1. */
  values: Record<BuiltInAttr, string[]>;
  /** Per revision (index revision - 1): dictionary ids, 0 for absent. */
  attrIds: Record<BuiltInAttr, Uint32Array>;
  /** Per extension name, the events that carry it. */
  extensions: Record<string, ExtensionColumnState>;
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
  private readonly dicts: Record<BuiltInAttr, AttributeDictionary> = {
    stream: new AttributeDictionary(),
    event_type: new AttributeDictionary(),
    subject: new AttributeDictionary(),
  };
  private readonly attrIds: Record<BuiltInAttr, GrowableUint32> = {
    stream: new GrowableUint32(),
    event_type: new GrowableUint32(),
    subject: new GrowableUint32(),
  };
  private readonly extensions = new Map<string, ExtensionColumn>();
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
    for (const [name, value] of event.extensionAttributes ?? extensionsOf(event)) {
      let column = this.extensions.get(name);
      if (!column) this.extensions.set(name, (column = new ExtensionColumn()));
      column.add(value, revision);
    }
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
      extensions: Object.fromEntries([...this.extensions].map(([name, column]) => [name, column.exportState()])),
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
    for (const [name, column] of Object.entries(state.extensions)) index.extensions.set(name, ExtensionColumn.fromState(column, name));
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
    const dict = this.dictionary(attr);
    if (!dict) return [];
    return dict.idsWithPrefix(prefix).map((id) => dict.values[id]!).sort().slice(0, limit);
  }

  matchesAt(selector: Selector, revision: number): boolean {
    switch (selector.type) {
      case 'equals': {
        const value = this.valueAt(selector.attr, revision);
        return selector.value === null ? value === undefined : value === selector.value;
      }
      case 'starts_with': {
        const value = this.valueAt(selector.attr, revision);
        return value !== undefined && value.startsWith(selector.value);
      }
      case 'and':
        return selector.selectors.every((s) => this.matchesAt(s, revision));
      case 'or':
        return selector.selectors.some((s) => this.matchesAt(s, revision));
    }
  }

  /** The value of an attribute at a revision; undefined when its event has none. */
  private valueAt(attr: SelectorAttr, revision: number): string | undefined {
    const name = extensionName(attr);
    if (name !== undefined) return this.extensions.get(name)?.valueAt(revision);
    const builtIn = attr as BuiltInAttr;
    const id = this.attrIds[builtIn].buf[revision - 1]!;
    return id === 0 ? undefined : this.dicts[builtIn].values[id];
  }

  /** The dictionary of an attribute's values; undefined for an extension no event carries. */
  private dictionary(attr: SelectorAttr): AttributeDictionary | undefined {
    const name = extensionName(attr);
    return name === undefined ? this.dicts[attr as BuiltInAttr] : this.extensions.get(name)?.dict;
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
        const dict = this.dictionary(selector.attr);
        // "Without this extension" has no posting list: its cursor is the whole range.
        if (selector.value === null && extensionName(selector.attr) !== undefined) return this.head;
        const id = !dict ? undefined : selector.value === null ? 0 : dict.ids.get(selector.value);
        return id === undefined ? 0 : dict!.postings.length(id);
      }
      case 'starts_with': {
        const dict = this.dictionary(selector.attr);
        return dict ? dict.idsWithPrefix(selector.value).reduce((n, id) => n + dict.postings.length(id), 0) : 0;
      }
      case 'and':
        return Math.min(...selector.selectors.map((s) => this.estimate(s)));
      case 'or':
        return selector.selectors.reduce((n, s) => n + this.estimate(s), 0);
    }
  }

  private cursorFor(selector: Selector, from: number, to: number, forward: boolean): Cursor {
    switch (selector.type) {
      case 'equals': {
        if (selector.value === null && extensionName(selector.attr) !== undefined) return rangeCursor(from, to, forward);
        const dict = this.dictionary(selector.attr);
        const id = !dict ? undefined : selector.value === null ? 0 : dict.ids.get(selector.value);
        return id === undefined ? emptyCursor : postingCursor(dict!.postings.get(id), from, to, forward);
      }
      case 'starts_with': {
        const dict = this.dictionary(selector.attr);
        if (!dict) return emptyCursor;
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
