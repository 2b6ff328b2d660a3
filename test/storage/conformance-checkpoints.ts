/**
 * The conformance cases of checkpoints and revision limits, run inside the storage conformance
 * suite (conformance.ts) for every adapter. A checkpoint is a blob committed with an append's
 * events and only forward; a revision limit refuses an append whose last revision would pass it.
 * Either refusal writes nothing at all, also when many appends race for the same checkpoint or
 * the last revisions under a limit.
 */
import { beforeEach, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import type { AppendCheckpoint, AppendOutcome, AppendRequest, EventStore } from '../../src/storage/types.ts';

const T0 = '2024-01-15T10:30:00.000Z';
let seq = 0;

function ev(partial: Partial<CloudEvent> = {}): CloudEvent {
  seq += 1;
  return { specversion: '1.0', id: `c-${seq}-${Math.random().toString(36).slice(2)}`, source: 'projection', type: 'Derived', ...partial };
}

const checkpoint = (position: number, key = 'consumers/billing/i1/checkpoint'): AppendCheckpoint => ({
  key,
  position,
  bytes: new TextEncoder().encode(JSON.stringify({ position })),
});
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

export interface CheckpointCasesContext {
  store(): EventStore;
  /** Closes the store and opens a new one on the same data; undefined where the adapter does not persist. */
  reopen(): Promise<EventStore | undefined>;
}

export function describeCheckpointCases(ctx: CheckpointCasesContext): void {
  const append = (events: CloudEvent[], extra: Partial<AppendRequest> = {}): Promise<AppendOutcome> =>
    ctx.store().appendTransaction('db', { events, recordedtime: T0, ...extra });
  const head = async () => (await ctx.store().getDatabase('db'))!.latest_revision;

  beforeEach(async () => {
    await ctx.store().createDatabase('db', T0);
    expect((await append([ev(), ev(), ev()])).kind).toBe('appended');
  });

  it('commits a checkpoint with the events, readable as a blob and listed with the blobs', async () => {
    expect(await append([ev()], { checkpoint: checkpoint(2) })).toEqual({ kind: 'appended', firstRevision: 4, lastRevision: 4 });
    expect(text(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint'))).toBe('{"position":2}');
    await ctx.store().putBlob('db', 'consumers/billing/definition', new Uint8Array([1]));
    expect(await ctx.store().listBlobs('db', 'consumers/billing/')).toEqual(['consumers/billing/definition', 'consumers/billing/i1/checkpoint']);
    expect(await append([ev(), ev()], { checkpoint: checkpoint(4) })).toMatchObject({ kind: 'appended', lastRevision: 6 });
    expect(text(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint'))).toBe('{"position":4}');
  });

  it('refuses a checkpoint at or before the stored one and writes none of the events', async () => {
    await append([ev()], { checkpoint: checkpoint(3) });
    const late = ev();
    expect(await append([late], { checkpoint: checkpoint(3) })).toEqual({ kind: 'checkpoint_behind', position: 3 });
    expect(await append([late], { checkpoint: checkpoint(2) })).toEqual({ kind: 'checkpoint_behind', position: 3 });
    expect(await head()).toBe(4);
    expect(await ctx.store().findByKeys('db', [late])).toEqual([undefined]);
    expect(text(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint'))).toBe('{"position":3}');
    // Another key is a checkpoint of its own.
    expect((await append([late], { checkpoint: checkpoint(1, 'consumers/audit/i2/checkpoint') })).kind).toBe('appended');
  });

  it('writes no checkpoint when the append is refused for another reason', async () => {
    const stored = ev();
    await append([stored]);
    expect((await append([stored], { checkpoint: checkpoint(2) })).kind).toBe('duplicates');
    expect((await append([ev()], { checkpoint: checkpoint(2), guard: { basis: 1, scopes: [undefined] } })).kind).toBe('guard_failed');
    expect((await append([ev()], { checkpoint: checkpoint(2), maxRevision: 4 })).kind).toBe('limit_exceeded');
    expect(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint')).toBeUndefined();
    expect(await head()).toBe(4);
  });

  it('lets exactly one of concurrent appends with the same checkpoint position commit', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => append([ev()], { checkpoint: checkpoint(3) })));
    expect(outcomes.filter((o) => o.kind === 'appended')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'checkpoint_behind')).toEqual(Array(7).fill({ kind: 'checkpoint_behind', position: 3 }));
    expect(await head()).toBe(4);
  });

  it('keeps the greatest of concurrent checkpoints, each committed only with its own events', async () => {
    const outcomes = await Promise.all([1, 2, 3].map((position) => append([ev({ subject: `p${position}` })], { checkpoint: checkpoint(position) })));
    const committed = outcomes.filter((o) => o.kind === 'appended').length;
    expect(await head()).toBe(3 + committed);
    expect(text(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint'))).toBe('{"position":3}');
    // Position 3 came last or alone: whichever lost had no events written.
    const p3 = outcomes[2]!;
    expect(p3.kind).toBe('appended');
  });

  it('goes with deleteBlobs, after which a position starts over', async () => {
    await append([ev()], { checkpoint: checkpoint(3) });
    expect(await ctx.store().deleteBlobs('db', 'consumers/billing/')).toBe(1);
    expect(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint')).toBeUndefined();
    expect(await ctx.store().listBlobs('db', 'consumers/')).toEqual([]);
    expect((await append([ev()], { checkpoint: checkpoint(1) })).kind).toBe('appended');
  });

  it('refuses what no transaction can hold: a checkpoint without events or over the size limit', async () => {
    await expect(append([], { checkpoint: checkpoint(1) })).rejects.toThrow(/with events/);
    await expect(append([ev()], { checkpoint: { key: 'k', position: 1, bytes: new Uint8Array(5000) } })).rejects.toThrow(/bytes/);
    expect(await head()).toBe(3);
  });

  it('keeps checkpoints across a restart where data persists', async () => {
    await append([ev()], { checkpoint: checkpoint(2) });
    await append([ev()], { checkpoint: checkpoint(4) });
    if (!(await ctx.reopen())) return;
    expect(text(await ctx.store().getBlob('db', 'consumers/billing/i1/checkpoint'))).toBe('{"position":4}');
    expect(await append([ev()], { checkpoint: checkpoint(4) })).toEqual({ kind: 'checkpoint_behind', position: 4 });
    expect((await append([ev()], { checkpoint: checkpoint(5) })).kind).toBe('appended');
  });

  it('refuses an append whose last revision would pass maxRevision, writing nothing', async () => {
    const refused = [ev(), ev()];
    expect(await append(refused, { maxRevision: 4 })).toEqual({ kind: 'limit_exceeded', head: 3 });
    expect(await head()).toBe(3);
    expect(await ctx.store().findByKeys('db', refused)).toEqual([undefined, undefined]);
    expect(await append(refused, { maxRevision: 5 })).toEqual({ kind: 'appended', firstRevision: 4, lastRevision: 5 });
    expect(await append([ev()], { maxRevision: 5 })).toEqual({ kind: 'limit_exceeded', head: 5 });
  });

  it('never passes maxRevision when concurrent appends race to it', async () => {
    const limit = 20;
    const sizes = Array.from({ length: 24 }, (_, i) => 1 + (i % 3));
    const outcomes = await Promise.all(sizes.map((n) => append(Array.from({ length: n }, () => ev()), { maxRevision: limit })));
    const appended = outcomes.filter((o) => o.kind === 'appended');
    const refused = outcomes.filter((o) => o.kind === 'limit_exceeded');
    expect(appended.length + refused.length).toBe(sizes.length);
    const last = await head();
    expect(last).toBeLessThanOrEqual(limit);
    expect(Math.max(...appended.map((o) => o.lastRevision))).toBe(last);
    // Every refusal was right: at the head it saw, its events would have gone past the limit.
    outcomes.forEach((o, i) => {
      if (o.kind === 'limit_exceeded') expect(o.head + sizes[i]!).toBeGreaterThan(limit);
    });
    // Appends fill the revisions densely, and nothing of a refused one is stored.
    const stored = (await ctx.store().query('db', { direction: 'forward', limit: 1000 })).events;
    expect(stored.map((e) => e.revision)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(3 + appended.reduce((n, o) => n + (o.lastRevision - o.firstRevision + 1), 0)).toBe(last);
    // The space left is less than the smallest refused append needed.
    if (refused.length > 0) expect(limit - last).toBeLessThan(Math.min(...sizes.filter((_, i) => outcomes[i]!.kind === 'limit_exceeded')));
  });
}
