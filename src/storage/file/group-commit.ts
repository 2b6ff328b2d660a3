/**
 * The writer of one database: appends go through a single loop that takes every request waiting
 * at the time, writes their frames with one write and one fdatasync (group commit), and only
 * then makes the events visible and acknowledges them. One sync for many transactions is what
 * makes durable appends fast; acknowledging after the sync is what makes them durable.
 */
import { InternalError, NotFoundError } from '../../core/errors.ts';
import { effectiveTimeMs, storedEventTexts, type CloudEvent } from '../../core/events.ts';
import { extensionsOf } from '../../core/selectors.ts';
import { checkAppend, checkBounds, StagedEvents } from '../append-checks.ts';
import type { AppendOutcome, AppendRequest, StoreObserver } from '../types.ts';
import { restoreCheckpoint, writeCheckpointAhead } from './checkpoints.ts';
import type { CommittedCheckpoint, FileDatabase } from './database.ts';
import { encodeFrame } from './log-format.ts';

/**
 * Bytes one group commit starts no further transaction after; a write is at most this plus one
 * transaction (itself bounded by the request size limit). Recovery relies on this bound too.
 */
export const MAX_GROUP_BYTES = 64 * 1024 * 1024;
/** Log growth after which the index is snapshotted again, bounding the scan after a crash. */
const SNAPSHOT_EVERY_BYTES = 64 * 1024 * 1024;

/** Counts that show group commit at work: transactions written per fdatasync. */
export interface CommitStats {
  transactions: number;
  syncs: number;
}

/** Queues an append and starts the database's write loop if none runs; settles once synced. */
export function submitAppend(db: FileDatabase, request: AppendRequest, stats: CommitStats, observer?: StoreObserver): Promise<AppendOutcome> {
  return new Promise<AppendOutcome>((resolve, reject) => {
    db.pending.push({ request, resolve, reject });
    if (!db.writing) db.writing = writeLoop(db, stats, observer);
  });
}

async function writeLoop(db: FileDatabase, stats: CommitStats, observer: StoreObserver | undefined): Promise<void> {
  try {
    // Requests that arrive during a round wait for the next one, and are taken together.
    while (db.pending.length > 0) await groupCommit(db, stats, observer);
  } finally {
    db.writing = undefined;
  }
}

/** One round of group commit: check, write and sync every waiting request, then publish. */
async function groupCommit(db: FileDatabase, stats: CommitStats, observer: StoreObserver | undefined): Promise<void> {
  const batch = db.pending.splice(0, db.pending.length);
  if (db.deleted) {
    for (const item of batch) item.reject(new NotFoundError(`database "${db.name}" does not exist`, { name: db.name }));
    return;
  }

  const staged = new StagedEvents();
  const frames: Buffer[] = [];
  const placements: Array<{ revision: number; offset: number; length: number }> = [];
  const outcomes: Array<AppendOutcome | Error> = [];
  const checkpoints: CommittedCheckpoint[] = [];
  /** Bytes of stored JSON of each appended request, by its place in the batch. */
  const jsonBytes: number[] = [];
  let writeAt = db.size;
  for (const [n, item] of batch.entries()) {
    // Bound one write (and so what a crash can tear); the rest waits for the next round.
    if (writeAt - db.size >= MAX_GROUP_BYTES) {
      db.pending.unshift(...batch.splice(n));
      break;
    }
    // One checkpoint per key a round: the next one is checked against this one committed.
    const checkpoint = item.request.checkpoint;
    if (checkpoint && checkpoints.some((c) => c.key === checkpoint.key)) {
      db.pending.unshift(...batch.splice(n));
      break;
    }
    try {
      const rejected =
        (await checkAppend(db.index, item.request, staged, async (rev) => (await db.read([rev]))[0])) ??
        checkBounds(item.request, db.index.head + staged.length, checkpoint && db.checkpoints.get(checkpoint.key)?.position);
      if (rejected) {
        outcomes.push(rejected);
        continue;
      }
      const firstRevision = db.index.head + staged.length + 1;
      const jsons = storedEventTexts(item.request.events, firstRevision, item.request.recordedtime);
      const { frame, jsonOffsets } = encodeFrame(jsons);
      jsonOffsets.forEach((p, i) => placements.push({ revision: firstRevision + i, offset: writeAt + p.offset, length: p.length }));
      item.request.events.forEach((event: CloudEvent, i) =>
        staged.push({ revision: firstRevision + i, event, text: jsons[i]!, recordedtime: item.request.recordedtime }),
      );
      frames.push(frame);
      writeAt += frame.length;
      if (checkpoint) {
        const last = item.request.events.at(-1)!;
        const { key, position, bytes } = checkpoint;
        checkpoints.push({ key, position, bytes: Uint8Array.from(bytes), revision: firstRevision + jsons.length - 1, source: last.source, id: last.id });
      }
      jsonBytes[outcomes.length] = jsonOffsets.reduce((sum, p) => sum + p.length, 0);
      outcomes.push({ kind: 'appended', firstRevision, lastRevision: firstRevision + jsons.length - 1 });
    } catch (error) {
      outcomes.push(error as Error);
    }
  }

  if (frames.length > 0) {
    try {
      // On disk before the frames, and counted only once their events are (checkpoints.ts).
      for (const c of checkpoints) await writeCheckpointAhead(db, c);
      const data = Buffer.concat(frames);
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await db.log.write(data, written, data.length - written, db.size + written);
        written += bytesWritten;
      }
      const syncStart = performance.now();
      await db.log.datasync();
      observer?.groupCommitted?.(frames.length, (performance.now() - syncStart) / 1000);
      stats.syncs += 1;
      stats.transactions += frames.length;
    } catch (cause) {
      // Nothing of this round was acknowledged; cut the file back so no half-written frame stays.
      await db.log.truncate(db.size).catch(() => undefined);
      for (const c of checkpoints) await restoreCheckpoint(db, c.key).catch(() => undefined);
      const error = new InternalError(`could not write to database "${db.name}": ${(cause as Error).message}`);
      for (const item of batch) item.reject(error);
      return;
    }
    publish(db, staged, placements);
    for (const c of checkpoints) db.checkpoints.set(c.key, c);
    db.size = writeAt;
    if (db.size - db.snapshotLogSize >= SNAPSHOT_EVERY_BYTES) void db.snapshot();
  }
  batch.forEach((item, i) => {
    const outcome = outcomes[i]!;
    if (outcome instanceof Error) item.reject(outcome);
    else {
      if (outcome.kind === 'appended') observer?.appended?.(db.name, item.request.events.length, jsonBytes[i]!);
      item.resolve(outcome);
    }
  });
}

/** Makes a synced round visible to queries: index entries and log positions of its events. */
function publish(db: FileDatabase, staged: StagedEvents, placements: ReadonlyArray<{ revision: number; offset: number; length: number }>): void {
  // A request's events share one recorded time: parse it once, not per event.
  let recordedAt = '';
  let recordedMs = 0;
  for (const { revision, event, recordedtime } of staged.events) {
    if (recordedtime !== recordedAt) {
      recordedAt = recordedtime;
      recordedMs = effectiveTimeMs({}, recordedtime);
    }
    // Only what the index keeps: copying whole events here cost more than indexing them.
    const { source, type, subject, id } = event;
    db.index.add(revision, { source, type, subject, id, effectiveTimeMs: event.time == null ? recordedMs : effectiveTimeMs(event, recordedtime), extensionAttributes: extensionsOf(event) });
  }
  for (const p of placements) db.place(p.revision, p.offset, p.length);
}
