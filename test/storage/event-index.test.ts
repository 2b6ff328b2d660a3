/**
 * The in-memory index on its own, against a plain filter over the same events: posting lists
 * on both sides of the point where they leave the shared pool, keys across the growth of the
 * key table, extension attributes (sparse columns, some events carrying several, others none,
 * values of every CloudEvents type), and an index restored from its exported state.
 */
import { describe, expect, it } from 'vitest';
import { attrValue, type Selector } from '../../src/core/selectors.ts';
import { EventIndex, type IndexedEvent } from '../../src/storage/event-index.ts';

const events: IndexedEvent[] = [];
for (let i = 0; i < 6000; i++) {
  // Subjects with 1, 3, 8, 9, 40 and ~600 events: some stay pooled, some get arrays of their own.
  const subject = i % 10 === 0 ? undefined : i % 7 === 0 ? `busy-${i % 2}` : i < 400 ? `s-${Math.floor(i / [1, 3, 8, 9, 40][i % 5]!)}` : `single-${i}`;
  const event: Record<string, unknown> = { source: `src-${i % 3}`, type: `T${i % 4}`, subject, id: `e-${i}`, effectiveTimeMs: 1_700_000_000_000 + i * 1000 };
  // Courses on most events (a few busy ones, many with one event), students on some, a number on a few.
  if (i % 6 !== 0) event.course = i % 5 === 0 ? `c-${i}` : `c${i % 4}`;
  if (i % 4 === 1) event.student = `s${i % 37}`;
  if (i % 250 === 0) event.seats = i / 250;
  events.push(event as IndexedEvent);
}

function build(): EventIndex {
  const index = new EventIndex();
  events.forEach((event, i) => index.add(i + 1, event));
  return index;
}

const value = (event: IndexedEvent, attr: Parameters<typeof attrValue>[1]) => attrValue(event, attr);

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
  { type: 'equals', attr: 'ext.course', value: 'c1' },
  { type: 'equals', attr: 'ext.course', value: 'c-4005' },
  { type: 'equals', attr: 'ext.course', value: 'no-such-course' },
  { type: 'equals', attr: 'ext.nosuchextension', value: 'x' },
  { type: 'equals', attr: 'ext.seats', value: '3' },
  { type: 'starts_with', attr: 'ext.course', value: 'c-1' },
  { type: 'starts_with', attr: 'ext.student', value: '' },
  { type: 'and', selectors: [{ type: 'equals', attr: 'ext.course', value: 'c2' }, { type: 'equals', attr: 'ext.student', value: 's5' }] },
  { type: 'and', selectors: [{ type: 'equals', attr: 'event_type', value: 'T1' }, { type: 'starts_with', attr: 'ext.student', value: 's1' }] },
  { type: 'or', selectors: [{ type: 'equals', attr: 'ext.course', value: 'c-55' }, { type: 'equals', attr: 'ext.student', value: 's9' }, { type: 'equals', attr: 'subject', value: 's-20' }] },
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
    index.add(6002, { source: 'src-0', type: 'T1', id: 'e-new-2', effectiveTimeMs: 0, course: 'c1', room: 'r7' });
    expect(index.latestMatching({ type: 'equals', attr: 'ext.course', value: 'c1' }, 6002)).toBe(6002);
    expect(index.latestMatching({ type: 'equals', attr: 'ext.room', value: 'r7' }, 6002)).toBe(6002);
    expect(index.distinctValues('ext.room', '', 10)).toEqual(['r7']);
  });

  it('lists the values of an extension by prefix, and none of an extension no event has', () => {
    const index = build();
    const courses = [...new Set(events.map((e) => e.course as string | undefined))].filter((c) => c?.startsWith('c-1')).sort();
    expect(courses.length).toBeGreaterThan(5);
    expect(index.distinctValues('ext.course', 'c-1', 5)).toEqual(courses.slice(0, 5));
    // Numbers are indexed by their canonical strings.
    expect(index.distinctValues('ext.seats', '', 3)).toEqual(['0', '1', '10']);
    expect(index.distinctValues('ext.nosuchextension', '', 10)).toEqual([]);
  });

  it('counts the candidates of an extension selector, not the database', () => {
    const index = build();
    // The scan visits only the posting list of c-4005: one candidate, whatever the size of the database.
    let visited = 0;
    const selector: Selector = { type: 'equals', attr: 'ext.course', value: 'c-4005' };
    const original = index.matchesAt.bind(index);
    index.matchesAt = (s, revision) => {
      visited++;
      return original(s, revision);
    };
    expect([...index.scan({ selector, fromRevision: 1, toRevision: 6000, direction: 'forward' })]).toEqual([4006]);
    expect(visited).toBe(1);
  });
});
