/**
 * The in-memory index on its own, against a plain filter over the same events: posting lists
 * on both sides of the point where they leave the shared pool, keys across the growth of the
 * key table, and an index restored from its exported state.
 */
import { describe, expect, it } from 'vitest';
import type { Selector } from '../../src/core/selectors.ts';
import { EventIndex, type IndexedEvent } from '../../src/storage/event-index.ts';

const events: IndexedEvent[] = [];
for (let i = 0; i < 6000; i++) {
  // Subjects with 1, 3, 8, 9, 40 and ~600 events: some stay pooled, some get arrays of their own.
  const subject = i % 10 === 0 ? undefined : i % 7 === 0 ? `busy-${i % 2}` : i < 400 ? `s-${Math.floor(i / [1, 3, 8, 9, 40][i % 5]!)}` : `single-${i}`;
  events.push({ source: `src-${i % 3}`, type: `T${i % 4}`, subject, id: `e-${i}`, effectiveTimeMs: 1_700_000_000_000 + i * 1000 });
}

function build(): EventIndex {
  const index = new EventIndex();
  events.forEach((event, i) => index.add(i + 1, event));
  return index;
}

const value = (event: IndexedEvent, attr: 'stream' | 'event_type' | 'subject') => (attr === 'stream' ? event.source : attr === 'event_type' ? event.type : event.subject);

function matches(selector: Selector, event: IndexedEvent): boolean {
  switch (selector.type) {
    case 'equals':
      return selector.value === null ? value(event, selector.attr) === undefined : value(event, selector.attr) === selector.value;
    case 'starts_with':
      return value(event, selector.attr)?.startsWith(selector.value) ?? false;
    case 'and':
      return selector.selectors.every((s) => matches(s, event));
    case 'or':
      return selector.selectors.some((s) => matches(s, event));
  }
}

const selectors: Selector[] = [
  { type: 'equals', attr: 'subject', value: 's-3' },
  { type: 'equals', attr: 'subject', value: 'busy-1' },
  { type: 'equals', attr: 'subject', value: null },
  { type: 'equals', attr: 'subject', value: 'single-5001' },
  { type: 'starts_with', attr: 'subject', value: 's-1' },
  { type: 'and', selectors: [{ type: 'equals', attr: 'event_type', value: 'T1' }, { type: 'equals', attr: 'subject', value: 'busy-0' }] },
  { type: 'or', selectors: [{ type: 'equals', attr: 'stream', value: 'src-2' }, { type: 'equals', attr: 'subject', value: 's-20' }] },
];

describe('event index', () => {
  for (const [name, index] of [
    ['as built', build()],
    ['restored from its state', EventIndex.fromState(build().exportState())],
  ] as const) {
    it(`${name}: finds what a plain filter finds, in both directions and within ranges`, () => {
      for (const selector of selectors) {
        for (const [from, to] of [[1, 6000], [5, 250], [2990, 3100], [5999, 6000]] as const) {
          const expected = events.flatMap((e, i) => (i + 1 >= from && i + 1 <= to && matches(selector, e) ? [i + 1] : []));
          expect([...index.scan({ selector, fromRevision: from, toRevision: to, direction: 'forward' })]).toEqual(expected);
          expect([...index.scan({ selector, fromRevision: from, toRevision: to, direction: 'backward' })]).toEqual(expected.reverse());
        }
      }
      const t = 1_700_000_000_000;
      expect([...index.scan({ selector: selectors[1], fromRevision: 1, toRevision: 6000, fromTimeMs: t + 100_000, toTimeMs: t + 200_000, direction: 'forward' })]).toEqual(
        events.flatMap((e, i) => (matches(selectors[1]!, e) && i >= 100 && i <= 200 ? [i + 1] : [])),
      );
    });

    it(`${name}: finds every event by source and id`, () => {
      events.forEach((event, i) => expect(index.candidatesForKey(event.source, event.id)).toContain(i + 1));
      expect(index.candidatesForKey('src-0', 'no-such-id')).toEqual([]);
    });
  }

  it('keeps working as a restored index grows', () => {
    const index = EventIndex.fromState(build().exportState());
    index.add(6001, { source: 'src-0', type: 'T1', subject: 's-3', id: 'e-new', effectiveTimeMs: 0 });
    expect(index.latestMatching({ type: 'equals', attr: 'subject', value: 's-3' }, 6001)).toBe(6001);
    expect(index.candidatesForKey('src-0', 'e-new')).toEqual([6001]);
    expect(index.candidatesForKey('src-1', 'e-1')).toEqual([2]);
  });
});
