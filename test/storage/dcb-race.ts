/**
 * The course-subscription race, the Dynamic Consistency Boundary example: a decision spans two
 * entities named by extension attributes, a course (capacity) and a student (a limit of
 * courses). Each writer reads the course's and the student's events, decides, and appends with
 * a `max_revision` constraint over each of the two at the revision it read; on a conflict it
 * reads and decides again. Run by the file and DynamoDB race test files.
 */
import { expect } from 'vitest';
import { FailedPreconditionError } from '../../src/core/errors.ts';
import type { CloudEvent, StoredEvent } from '../../src/core/events.ts';
import { parseSelector } from '../../src/core/selectors.ts';
import type { EventStore } from '../../src/storage/types.ts';
import { appendEvents } from '../../src/usecases/append-events.ts';
import type { FactumContext } from '../../src/usecases/context.ts';

let seq = 0;
const ev = (type: string, extensions: Record<string, string>, data: unknown = {}): CloudEvent => ({
  specversion: '1.0',
  id: `dcb-${process.pid}-${++seq}`,
  source: 'school',
  type,
  ...extensions,
  data,
});

type Outcome = 'subscribed' | 'full' | 'limit';

async function eventsOf(store: EventStore, database: string, extensions: Record<string, string>, head: number): Promise<StoredEvent[]> {
  const page = await store.query(database, { selector: parseSelector({ extensions }), toRevision: head, direction: 'forward', limit: 10_000 });
  return page.events.map((e) => JSON.parse(e.json) as StoredEvent);
}

/** One writer: decide on what it read at `head`, append on the condition that neither entity changed since. */
async function subscribe(ctx: FactumContext, database: string, student: string, course: string, conflicts: { count: number }): Promise<Outcome> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const head = (await ctx.store.getDatabase(database))!.latest_revision;
    const [courseEvents, studentEvents] = await Promise.all([eventsOf(ctx.store, database, { course }, head), eventsOf(ctx.store, database, { student }, head)]);
    const capacity = (courseEvents.find((e) => e.type === 'CourseCreated')!.data as { capacity: number }).capacity;
    const limit = (studentEvents.find((e) => e.type === 'StudentRegistered')!.data as { limit: number }).limit;
    if (courseEvents.filter((e) => e.type === 'StudentSubscribed').length >= capacity) return 'full';
    if (studentEvents.filter((e) => e.type === 'StudentSubscribed').length >= limit) return 'limit';
    try {
      await appendEvents(ctx, database, [ev('StudentSubscribed', { course, student })], [
        { type: 'max_revision', revision: head, selector: parseSelector({ extensions: { course } }) },
        { type: 'max_revision', revision: head, selector: parseSelector({ extensions: { student } }) },
      ]);
      return 'subscribed';
    } catch (error) {
      if (!(error instanceof FailedPreconditionError)) throw error;
      conflicts.count++;
    }
  }
  throw new Error(`${student} → ${course}: no decision after 500 attempts`);
}

/**
 * 16 students race for the 10 seats of c1 (s1..s4 are already at their limit of 2 courses),
 * while 8 other students each try for 3 of the roomy courses c2..c4 at once, with a limit of 2.
 * Writers take turns among `stores` (servers sharing one storage). Returns the number of
 * conflicts the writers met (and decided again after).
 */
export async function runCourseRace(stores: EventStore | EventStore[], database: string): Promise<{ conflicts: number }> {
  const servers = (Array.isArray(stores) ? stores : [stores]).map((store): FactumContext => ({ store, components: undefined as never, now: () => new Date() }));
  const ctx = servers[0]!;
  const store = ctx.store;
  let turn = 0;
  const next = () => servers[turn++ % servers.length]!;
  await store.createDatabase(database, new Date().toISOString());
  const seats = (course: string, capacity: number) => ev('CourseCreated', { course }, { capacity });
  const s = Array.from({ length: 16 }, (_, i) => `s${i + 1}`);
  const t = Array.from({ length: 8 }, (_, i) => `t${i + 1}`);
  await appendEvents(ctx, database, [seats('c1', 10), seats('c2', 100), seats('c3', 100), seats('c4', 100), seats('c5', 100), seats('c6', 100)]);
  await appendEvents(ctx, database, [...s, ...t].map((student) => ev('StudentRegistered', { student }, { limit: 2 })));
  await appendEvents(ctx, database, s.slice(0, 4).flatMap((student) => ['c5', 'c6'].map((course) => ev('StudentSubscribed', { course, student }))));

  const conflicts = { count: 0 };
  const [mainRace, others] = await Promise.all([
    Promise.all(s.map((student) => subscribe(next(), database, student, 'c1', conflicts))),
    Promise.all(t.map((student) => Promise.all(['c2', 'c3', 'c4'].map((course) => subscribe(next(), database, student, course, conflicts))))),
  ]);

  // The four at their limit are refused for it; of the twelve others exactly ten get a seat.
  expect(mainRace.slice(0, 4)).toEqual(['limit', 'limit', 'limit', 'limit']);
  expect(mainRace.slice(4).filter((o) => o === 'subscribed')).toHaveLength(10);
  expect(mainRace.slice(4).filter((o) => o === 'full')).toHaveLength(2);
  // Every other student got exactly two of the three courses: no one over the limit, and c1 filling up blocked none of them.
  for (const outcomes of others) expect([...outcomes].sort()).toEqual(['limit', 'subscribed', 'subscribed']);

  // What is stored says the same, read back in full.
  const head = (await store.getDatabase(database))!.latest_revision;
  const subscribed = (await store.query(database, { selector: parseSelector({ event_type: 'StudentSubscribed' }), toRevision: head, direction: 'forward', limit: 10_000 })).events.map(
    (e) => JSON.parse(e.json) as StoredEvent & { course: string; student: string },
  );
  expect(subscribed.filter((e) => e.course === 'c1')).toHaveLength(10);
  const perStudent = new Map<string, number>();
  for (const e of subscribed) perStudent.set(e.student, (perStudent.get(e.student) ?? 0) + 1);
  expect(Math.max(...perStudent.values())).toBe(2);
  expect(subscribed.filter((e) => ['c2', 'c3', 'c4'].includes(e.course))).toHaveLength(16);
  return { conflicts: conflicts.count };
}
