/**
 * One open database of the file store: its log, the in-memory index rebuilt from it, and where
 * each event's JSON sits in the log. Appending is group-commit.ts's, opening recovery.ts's; this
 * module holds the state they share, reads events back and writes index snapshots.
 */
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { InternalError } from '../../core/errors.ts';
import type { RawEvent } from '../../core/events.ts';
import { EventIndex } from '../event-index.ts';
import type { AppendOutcome, AppendRequest, DatabaseRecord } from '../types.ts';
import { writeSnapshot } from './index-snapshot.ts';

/** The files of a database directory, databases/<name>/. */
export const LOG_FILE = 'events.log';
export const META_FILE = 'database.json';
export const SNAPSHOT_FILE = 'index.snapshot';
export const BLOB_DIR = 'blobs';

/** Log reads one query keeps in flight: libuv runs four I/O threads, appends need some too. */
const READS_IN_FLIGHT = 3;

/** An append waiting for the next group commit. */
export interface PendingAppend {
  request: AppendRequest;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

/** A checkpoint (checkpoints.ts) as it stands once its append is committed. */
export interface CommittedCheckpoint {
  key: string;
  position: number;
  bytes: Uint8Array;
  /** The append's last event, whose presence in the log makes the checkpoint count. */
  revision: number;
  source: string;
  id: string;
}

export class FileDatabase {
  index = new EventIndex();
  /** Committed checkpoints by key, the only ones readers see. */
  checkpoints = new Map<string, CommittedCheckpoint>();
  /** Where each event's JSON sits in the log, by revision - 1. */
  offsets: Float64Array = new Float64Array(1024);
  lengths: Uint32Array = new Uint32Array(1024);
  /** Log bytes that hold acknowledged (or recovered) frames; the next write starts here. */
  size = 0;
  pending: PendingAppend[] = [];
  /** The write loop while one runs (group-commit.ts): at most one per database. */
  writing: Promise<void> | undefined;
  deleted = false;
  /** Log size covered by the newest index snapshot on disk, and a snapshot write under way. */
  snapshotLogSize = 0;
  snapshotting: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly createdAt: string,
    readonly dir: string,
    readonly log: FileHandle,
  ) {}

  record(): DatabaseRecord {
    return { name: this.name, created_at: this.createdAt, latest_revision: this.index.head, event_count: this.index.head };
  }

  place(revision: number, offset: number, length: number): void {
    const i = revision - 1;
    if (i >= this.offsets.length) {
      const offsets = new Float64Array(Math.max(1024, this.offsets.length * 2));
      offsets.set(this.offsets);
      this.offsets = offsets;
      const lengths = new Uint32Array(Math.max(1024, this.lengths.length * 2));
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    this.offsets[i] = offset;
    this.lengths[i] = length;
  }

  /**
   * Waits until no write loop and no snapshot write runs, so the log can be closed. Callers
   * first stop new appends (store closing, or `deleted`), else a new loop could start after.
   */
  async settle(): Promise<void> {
    while (this.writing) await this.writing;
    await this.snapshotting;
  }

  /**
   * Persists the index so the next start reads only the log written after it. Runs in the
   * background; a failure only means the next start scans more of the log.
   */
  snapshot(): Promise<void> {
    if (this.snapshotting || this.deleted || this.size === this.snapshotLogSize) return this.snapshotting ?? Promise.resolve();
    const logSize = this.size;
    const content = { index: this.index.exportState(), offsets: this.offsets, lengths: this.lengths, logSize };
    this.snapshotting = writeSnapshot(join(this.dir, SNAPSHOT_FILE), content)
      .then(() => {
        this.snapshotLogSize = logSize;
      })
      .catch((error: Error) => process.emitWarning(`database "${this.name}": index snapshot not written: ${error.message}`))
      .finally(() => {
        this.snapshotting = undefined;
      });
    return this.snapshotting;
  }

  /**
   * Reads events by revision, coalescing neighbours in the log into one read. Reads of events
   * far apart (a selective query) run a few at a time rather than one after the other.
   */
  async read(revisions: readonly number[]): Promise<RawEvent[]> {
    const out: RawEvent[] = new Array(revisions.length);
    // Ranges [i, j) of `revisions` that one read covers.
    const ranges: Array<[number, number]> = [];
    let i = 0;
    while (i < revisions.length) {
      let j = i + 1;
      const start = this.offsets[revisions[i]! - 1]!;
      let end = start + this.lengths[revisions[i]! - 1]!;
      // Extend the read over events that lie close after this one (the usual case for scans).
      while (j < revisions.length) {
        const o = this.offsets[revisions[j]! - 1]!;
        if (o < end || o - end > 4096 || o + this.lengths[revisions[j]! - 1]! - start > 1024 * 1024) break;
        end = o + this.lengths[revisions[j]! - 1]!;
        j++;
      }
      ranges.push([i, j]);
      i = j;
    }
    const readRange = async ([i, j]: [number, number]) => {
      const start = this.offsets[revisions[i]! - 1]!;
      const last = revisions[j - 1]! - 1;
      const buf = Buffer.allocUnsafe(this.offsets[last]! + this.lengths[last]! - start);
      const { bytesRead } = await this.log.read(buf, 0, buf.length, start);
      if (bytesRead !== buf.length) throw new InternalError(`short read in database "${this.name}"`);
      for (let k = i; k < j; k++) {
        const rev = revisions[k]!;
        const o = this.offsets[rev - 1]! - start;
        out[k] = { revision: rev, json: buf.toString('utf8', o, o + this.lengths[rev - 1]!) };
      }
    };
    // Bounded, so one query does not hold up the appends' writes and syncs in the I/O threads.
    let next = 0;
    const reader = async () => {
      while (next < ranges.length) await readRange(ranges[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, ranges.length) }, reader));
    return out;
  }
}
