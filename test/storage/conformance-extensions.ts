/**
 * The conformance cases of extension attributes, run inside the storage conformance suite
 * (conformance.ts) for every adapter: selectors on extensions alone and mixed with the built-in
 * attributes, values of every CloudEvents type, guards scoped by several entities at once (the
 * DCB append condition), type-ahead, and all of it again after a restart where data persists.
 */
import { beforeEach, expect, it } from 'vitest';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import { parseSelector, type Selector } from '../../src/core/selectors.ts';
import type { AppendOutcome, EventQuery, EventStore } from '../../src/storage/types.ts';

const T0 = '2024-01-15T10:30:00.000Z';
let seq = 0;

function ev(partial: Record<string, unknown>): CloudEvent {
  seq += 1;
  return { specversion: '1.0', id: `x-${seq}-${Math.random().toString(36).slice(2)}`, source: 'school', type: 'StudentSubscribed', ...partial };
}

const sel = (wire: Record<string, unknown>): Selector => parseSelector(wire);

export interface ExtensionCasesContext {
  store(): EventStore;
  /** Closes the store and opens a new one on the same data; undefined where the adapter does not persist. */
  reopen(): Promise<EventStore | undefined>;
}

export function describeExtensionCases(ctx: ExtensionCasesContext): void {
  const append = (events: CloudEvent[], guard?: { basis: number; scopes: Selector[] }): Promise<AppendOutcome> =>
    ctx.store().appendTransaction('db', { events, recordedtime: T0, ...(guard ? { guard } : {}) });
  const revs = async (selector: Selector, q: Partial<EventQuery> = {}) =>
    (await ctx.store().query('db', { selector, direction: 'forward', limit: 10_000, ...q })).events.map((e) => (JSON.parse(e.json) as StoredEvent).revision);

  beforeEach(async () => {
    await ctx.store().createDatabase('db', T0);
    // 1 c1/s1   2 c1/s2   3 c2/s1 (CourseCreated)   4 c10/-   5 -/s3 seats 5   6 c1/s3 long value   7 c2/s2 flag true
    expect((await append([ev({ course: 'c1', student: 's1' }), ev({ course: 'c1', student: 's2' })])).kind).toBe('appended');
    expect((await append([ev({ course: 'c2', student: 's1', type: 'CourseCreated' })])).kind).toBe('appended');
    expect((await append([ev({ course: 'c10', subject: 'c10' }), ev({ student: 's3', seats: 5 }), ev({ course: 'c1', student: 's3', note: `#!${'n'.repeat(1200)}` })])).kind).toBe('appended');
    expect((await append([ev({ course: 'c2', student: 's2', waitlisted: true })])).kind).toBe('appended');
  });

  it('selects by an extension in both wire forms, by prefix, and by integer and boolean values', async () => {
    expect(await revs(sel({ extensions: { course: 'c1' } }))).toEqual([1, 2, 6]);
    expect(await revs(sel({ type: 'equals', attr: { extension: { name: 'course', value: 'c1' } } }))).toEqual([1, 2, 6]);
    expect(await revs(sel({ type: 'starts_with', attr: { extension: { name: 'course', value: 'c1' } } }))).toEqual([1, 2, 4, 6]);
    expect(await revs(sel({ type: 'starts_with', attr: { extension: { name: 'student', value: '' } } }))).toEqual([1, 2, 3, 5, 6, 7]);
    expect(await revs(sel({ extensions: { seats: '5' } }))).toEqual([5]);
    expect(await revs(sel({ extensions: { waitlisted: 'true' } }))).toEqual([7]);
    expect(await revs(sel({ extensions: { course: 'c3' } }))).toEqual([]);
    expect(await revs(sel({ extensions: { nosuchextension: 'x' } }))).toEqual([]);
    // Values with the characters the DynamoDB keys escape, and long enough to be keyed by a hash.
    expect(await revs(sel({ extensions: { note: `#!${'n'.repeat(1200)}` } }))).toEqual([6]);
    expect(await revs(sel({ type: 'starts_with', attr: { extension: { name: 'note', value: '#!nn' } } }))).toEqual([6]);
    // An extension is not a built-in attribute of the same value.
    expect(await revs(sel({ subject: 'c1' }))).toEqual([]);
  });

  it('combines extensions with and, or, and the built-in attributes, in both directions and within ranges', async () => {
    expect(await revs(sel({ extensions: { course: 'c1', student: 's2' } }))).toEqual([2]);
    expect(await revs(sel({ event_type: 'CourseCreated', extensions: { student: 's1' } }))).toEqual([3]);
    expect(await revs(sel({ type: 'or', selectors: [{ extensions: { course: 'c2' } }, { extensions: { student: 's1' } }] }))).toEqual([1, 3, 7]);
    expect(await revs(sel({ type: 'or', selectors: [{ extensions: { course: 'c10' } }, { event_type: 'CourseCreated' }] }))).toEqual([3, 4]);
    expect(await revs(sel({ type: 'and', selectors: [{ type: 'starts_with', attr: { extension: { name: 'course', value: 'c' } } }, { type: 'starts_with', attr: { subject: 'c1' } }] }))).toEqual([4]);
    expect(await revs(sel({ extensions: { course: 'c1' } }), { direction: 'backward' })).toEqual([6, 2, 1]);
    expect(await revs(sel({ extensions: { course: 'c1' } }), { fromRevision: 2, toRevision: 5 })).toEqual([2]);
    expect(await revs(sel({ type: 'starts_with', attr: { extension: { name: 'course', value: 'c' } } }), { direction: 'backward', fromRevision: 2, toRevision: 6 })).toEqual([6, 4, 3, 2]);
    const page = await ctx.store().query('db', { selector: sel({ extensions: { course: 'c1' } }), direction: 'backward', limit: 1 });
    expect(page.events.map((e) => e.revision)).toEqual([6]);
    expect(page.hasMore).toBe(true);
  });

  it('checks guards scoped by several entities: a DCB append condition', async () => {
    const scopes = [sel({ extensions: { course: 'c1' } }), sel({ extensions: { student: 's4' } })];
    // Events of other courses and students after the basis break nothing.
    expect((await append([ev({ course: 'c2', student: 's5' })])).kind).toBe('appended');
    expect((await append([ev({ course: 'c1', student: 's4' })], { basis: 6, scopes })).kind).toBe('appended');
    // Revision 9 is in both scopes: a decision read at 6 no longer holds, one read at 9 does.
    expect(await append([ev({ course: 'c1', student: 's6' })], { basis: 6, scopes })).toMatchObject({ kind: 'guard_failed' });
    expect(await append([ev({ course: 'c9', student: 's4' })], { basis: 9, scopes: [sel({ extensions: { student: 's4' } })] })).toMatchObject({ kind: 'appended' });
    expect(await append([ev({ course: 'c9', student: 's7' })], { basis: 9, scopes: [sel({ extensions: { student: 's4' } })] })).toMatchObject({ kind: 'guard_failed' });
    expect(await revs(sel({ extensions: { student: 's4' } }))).toEqual([9, 10]);
  });

  it('lists the distinct values of an extension by prefix', async () => {
    expect(await ctx.store().distinctValues('db', 'ext.course', '', 10)).toEqual(['c1', 'c10', 'c2']);
    expect(await ctx.store().distinctValues('db', 'ext.course', 'c1', 10)).toEqual(['c1', 'c10']);
    expect(await ctx.store().distinctValues('db', 'ext.course', '', 2)).toEqual(['c1', 'c10']);
    expect(await ctx.store().distinctValues('db', 'ext.seats', '', 10)).toEqual(['5']);
    expect(await ctx.store().distinctValues('db', 'ext.nosuchextension', '', 10)).toEqual([]);
  });

  it('finds extensions after a restart', async ({ skip }) => {
    if (!(await ctx.reopen())) skip();
    expect(await revs(sel({ extensions: { course: 'c1' } }))).toEqual([1, 2, 6]);
    expect(await revs(sel({ type: 'starts_with', attr: { extension: { name: 'course', value: 'c1' } } }))).toEqual([1, 2, 4, 6]);
    expect((await append([ev({ course: 'c1' })])).kind).toBe('appended');
    expect(await revs(sel({ extensions: { course: 'c1' } }))).toEqual([1, 2, 6, 8]);
    expect(await ctx.store().distinctValues('db', 'ext.student', '', 10)).toEqual(['s1', 's2', 's3']);
  });
}
