/**
 * The durable file store, Factum's embedded default.
 *
 * Layout under the data directory:
 *   LOCK                      pid of the process that owns the directory
 *   databases/<name>/database.json   name and creation time
 *   databases/<name>/events.log      append-only log of transaction frames (log-format.ts)
 *   tmp/, trash/              staging for atomic create and delete; emptied on start
 *
 * Appends to one database go through a single writer that takes every request waiting at the
 * time, writes their frames with one write and one fdatasync (group commit), and only then makes
 * the events visible and acknowledges them. On start each log is scanned, its index rebuilt in
 * memory and a torn tail (from a crash mid-write) cut off at the last whole frame.
 */
import { link, mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, InternalError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { SelectorAttr } from '../../core/selectors.ts';
import { effectiveTimeMs, storedEventJson, type CloudEvent, type RawEvent } from '../../core/events.ts';
import { checkAppend, findByKey, mayBeStored, StagedEvents } from '../append-checks.ts';
import { EventIndex } from '../event-index.ts';
import { pageFromIndex } from '../index-query.ts';
import {
  assertBlobKey,
  type AppendOutcome,
  type AppendRequest,
  type DatabaseRecord,
  type EventPage,
  type EventQuery,
  type EventStore,
  type StorageHealth,
} from '../types.ts';
import { encodeFrame, parseFrame } from './log-format.ts';
import { acquireDirectoryLock, fsyncDirectory, type DirectoryLock } from './fs-util.ts';
import { readSnapshot, writeSnapshot } from './index-snapshot.ts';

const LOG_FILE = 'events.log';
const META_FILE = 'database.json';
const SNAPSHOT_FILE = 'index.snapshot';
const BLOB_DIR = 'blobs';

/** Blob keys map to flat file names: `/` cannot appear in a name, `~` cannot appear in a key. */
const blobFileName = (key: string) => key.replaceAll('/', '~');
const blobKeyOf = (fileName: string) => fileName.replaceAll('~', '/');
/** Log growth after which the index is snapshotted again, bounding the scan after a crash. */
const SNAPSHOT_EVERY_BYTES = 64 * 1024 * 1024;
/**
 * Bytes one group commit starts no further transaction after; a write is at most this plus one
 * transaction (itself bounded by the request size limit).
 */
const MAX_GROUP_BYTES = 64 * 1024 * 1024;
const RECOVERY_CHUNK_BYTES = 8 * 1024 * 1024;
/** Log reads one query keeps in flight: libuv runs four I/O threads, appends need some too. */
const READS_IN_FLIGHT = 3;

interface PendingAppend {
  request: AppendRequest;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

class FileDatabase {
  index = new EventIndex();
  /** Where each event's JSON sits in the log, by revision - 1. */
  offsets: Float64Array = new Float64Array(1024);
  lengths: Uint32Array = new Uint32Array(1024);
  size = 0;
  pending: PendingAppend[] = [];
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

export interface FileEventStoreOptions {
  dataDir: string;
}

export class FileEventStore implements EventStore {
  readonly adapter = 'file';
  /** Counts that show group commit at work: transactions written per fdatasync. */
  readonly stats = { transactions: 0, syncs: 0 };
  private readonly databases = new Map<string, FileDatabase>();
  private readonly dataDir: string;
  private lock: DirectoryLock | undefined;
  private closing = false;
  /** Create and delete of databases run one at a time, so names never race. */
  private catalog: Promise<unknown> = Promise.resolve();

  constructor(options: FileEventStoreOptions) {
    this.dataDir = options.dataDir;
  }

  private get databasesDir(): string {
    return join(this.dataDir, 'databases');
  }

  async open(): Promise<void> {
    await mkdir(this.databasesDir, { recursive: true });
    this.lock = await acquireDirectoryLock(this.dataDir);
    // Leftovers of a create or delete interrupted by a crash.
    await rm(join(this.dataDir, 'tmp'), { recursive: true, force: true });
    await rm(join(this.dataDir, 'trash'), { recursive: true, force: true });
    await mkdir(join(this.dataDir, 'tmp'));
    await mkdir(join(this.dataDir, 'trash'));
    for (const name of await readdir(this.databasesDir)) {
      const dir = join(this.databasesDir, name);
      const meta = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as { name: string; created_at: string };
      const db = new FileDatabase(meta.name, meta.created_at, dir, await open(join(dir, LOG_FILE), 'r+'));
      await recover(db);
      this.databases.set(db.name, db);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.catalog;
    for (const db of this.databases.values()) {
      while (db.writing) await db.writing;
      await db.snapshotting;
      await db.snapshot();
      await db.log.close();
    }
    this.databases.clear();
    await this.lock?.release();
    this.lock = undefined;
  }

  async health(): Promise<StorageHealth> {
    return this.lock && !this.closing ? { status: 'connected' } : { status: 'unavailable', message: 'not open' };
  }

  async listDatabases(): Promise<DatabaseRecord[]> {
    return [...this.databases.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((db) => db.record());
  }

  async getDatabase(name: string): Promise<DatabaseRecord | undefined> {
    return this.databases.get(name)?.record();
  }

  createDatabase(name: string, createdAt: string): Promise<DatabaseRecord> {
    return this.exclusive(async () => {
      if (this.databases.has(name)) throw new AlreadyExistsError(`database "${name}" already exists`, { name });
      // Build the directory aside, then rename it into place: a crash leaves all or nothing.
      const staging = join(this.dataDir, 'tmp', `${name}.${randomBytes(6).toString('hex')}`);
      await mkdir(staging);
      await writeFile(join(staging, META_FILE), JSON.stringify({ name, created_at: createdAt }), { flush: true });
      await (await open(join(staging, LOG_FILE), 'wx')).close();
      await fsyncDirectory(staging);
      const dir = join(this.databasesDir, name);
      await rename(staging, dir);
      await fsyncDirectory(this.databasesDir);
      const db = new FileDatabase(name, createdAt, dir, await open(join(dir, LOG_FILE), 'r+'));
      this.databases.set(name, db);
      return db.record();
    });
  }

  deleteDatabase(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      const db = this.databases.get(name);
      if (!db) return false;
      db.deleted = true;
      this.databases.delete(name);
      while (db.writing) await db.writing;
      await db.snapshotting;
      await db.log.close();
      // One rename takes the database out of sight; removing the files can then fail harmlessly.
      const doomed = join(this.dataDir, 'trash', `${name}.${randomBytes(6).toString('hex')}`);
      await rename(db.dir, doomed);
      await fsyncDirectory(this.databasesDir);
      await rm(doomed, { recursive: true, force: true });
      return true;
    });
  }

  async appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome> {
    if (this.closing) throw new UnavailableError('the server is shutting down');
    const db = this.require(database);
    return new Promise<AppendOutcome>((resolve, reject) => {
      db.pending.push({ request, resolve, reject });
      if (!db.writing) db.writing = this.writeLoop(db);
    });
  }

  async query(database: string, query: EventQuery): Promise<EventPage> {
    const db = this.require(database);
    return pageFromIndex(db.index, query, (revisions) => db.read(revisions));
  }

  async findByKeys(database: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
    const db = this.require(database);
    const none = new StagedEvents();
    const found = keys.map((key) => (mayBeStored(db.index, key, none) ? findByKey(db.index, key, none, async (rev) => (await db.read([rev]))[0]) : undefined));
    // New events, the usual case, need no read at all.
    return found.every((f) => f === undefined) ? (found as undefined[]) : Promise.all(found);
  }

  async distinctValues(database: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
    return this.require(database).index.distinctValues(attr, prefix, limit);
  }

  async readEvent(database: string, revision: number): Promise<RawEvent | undefined> {
    const db = this.require(database);
    if (!Number.isSafeInteger(revision) || revision < 1 || revision > db.index.head) return undefined;
    return (await db.read([revision]))[0];
  }

  async putBlob(database: string, key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    assertBlobKey(key);
    const dir = await this.blobDir(database);
    const staging = join(dir, `.staging-${randomBytes(6).toString('hex')}`);
    await writeFile(staging, bytes, { flush: true });
    try {
      if (options.ifAbsent) {
        // link() fails if the name exists: an atomic create-if-absent.
        try {
          await link(staging, join(dir, blobFileName(key)));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw error;
        }
      } else {
        await rename(staging, join(dir, blobFileName(key)));
      }
      await fsyncDirectory(dir);
      return true;
    } finally {
      await rm(staging, { force: true });
    }
  }

  async getBlob(database: string, key: string): Promise<Uint8Array | undefined> {
    assertBlobKey(key);
    const dir = await this.blobDir(database);
    try {
      return new Uint8Array(await readFile(join(dir, blobFileName(key))));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async listBlobs(database: string, prefix: string): Promise<string[]> {
    const dir = await this.blobDir(database);
    return (await readdir(dir))
      .filter((f) => !f.startsWith('.'))
      .map(blobKeyOf)
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  async deleteBlobs(database: string, prefix: string): Promise<number> {
    const dir = await this.blobDir(database);
    const doomed = (await this.listBlobs(database, prefix)).map((k) => join(dir, blobFileName(k)));
    await Promise.all(doomed.map((f) => rm(f, { force: true })));
    if (doomed.length > 0) await fsyncDirectory(dir);
    return doomed.length;
  }

  private async blobDir(database: string): Promise<string> {
    const dir = join(this.require(database).dir, BLOB_DIR);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  private require(name: string): FileDatabase {
    const db = this.databases.get(name);
    if (!db) throw new NotFoundError(`database "${name}" does not exist`, { name });
    return db;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new UnavailableError('the server is shutting down'));
    const result = this.catalog.then(task);
    this.catalog = result.catch(() => undefined);
    return result;
  }

  private async writeLoop(db: FileDatabase): Promise<void> {
    try {
      while (db.pending.length > 0) await this.groupCommit(db);
    } finally {
      db.writing = undefined;
    }
  }

  /** One round of group commit: check, write and sync every waiting request, then publish. */
  private async groupCommit(db: FileDatabase): Promise<void> {
    const batch = db.pending.splice(0, db.pending.length);
    if (db.deleted) {
      for (const item of batch) item.reject(new NotFoundError(`database "${db.name}" does not exist`, { name: db.name }));
      return;
    }

    const staged = new StagedEvents();
    const frames: Buffer[] = [];
    const placements: Array<{ revision: number; offset: number; length: number }> = [];
    const outcomes: Array<AppendOutcome | Error> = [];
    let writeAt = db.size;
    for (const [n, item] of batch.entries()) {
      // Bound one write (and so what a crash can tear); the rest waits for the next round.
      if (writeAt - db.size >= MAX_GROUP_BYTES) {
        db.pending.unshift(...batch.splice(n));
        break;
      }
      try {
        const rejected = await checkAppend(db.index, item.request, staged, async (rev) => (await db.read([rev]))[0]);
        if (rejected) {
          outcomes.push(rejected);
          continue;
        }
        const firstRevision = db.index.head + staged.length + 1;
        const jsons = item.request.events.map((event, i) => storedEventJson(event, firstRevision + i, item.request.recordedtime));
        const { frame, jsonOffsets } = encodeFrame(jsons);
        jsonOffsets.forEach((p, i) => placements.push({ revision: firstRevision + i, offset: writeAt + p.offset, length: p.length }));
        item.request.events.forEach((event: CloudEvent, i) =>
          staged.push({ revision: firstRevision + i, event, json: jsons[i]!, recordedtime: item.request.recordedtime }),
        );
        frames.push(frame);
        writeAt += frame.length;
        outcomes.push({ kind: 'appended', firstRevision, lastRevision: firstRevision + jsons.length - 1 });
      } catch (error) {
        outcomes.push(error as Error);
      }
    }

    if (frames.length > 0) {
      try {
        const data = Buffer.concat(frames);
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await db.log.write(data, written, data.length - written, db.size + written);
          written += bytesWritten;
        }
        await db.log.datasync();
        this.stats.syncs += 1;
        this.stats.transactions += frames.length;
      } catch (cause) {
        // Nothing of this round was acknowledged; cut the file back so no half-written frame stays.
        await db.log.truncate(db.size).catch(() => undefined);
        const error = new InternalError(`could not write to database "${db.name}": ${(cause as Error).message}`);
        for (const item of batch) item.reject(error);
        return;
      }
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
        db.index.add(revision, { source, type, subject, id, effectiveTimeMs: event.time == null ? recordedMs : effectiveTimeMs(event, recordedtime) });
      }
      for (const p of placements) db.place(p.revision, p.offset, p.length);
      db.size = writeAt;
      if (db.size - db.snapshotLogSize >= SNAPSHOT_EVERY_BYTES) void db.snapshot();
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) item.reject(outcome);
      else item.resolve(outcome);
    });
  }
}

/**
 * Loads the index snapshot if it fits the log: it must not claim more log than there is, and the
 * event it says is last must be where it says, with that revision.
 */
async function loadSnapshot(db: FileDatabase, fileSize: number): Promise<number> {
  const snap = await readSnapshot(join(db.dir, SNAPSHOT_FILE));
  if (!snap || snap.logSize > fileSize || snap.index.head === 0) return 0;
  const last = snap.index.head - 1;
  const probe = Buffer.alloc(snap.lengths[last]!);
  await db.log.read(probe, 0, probe.length, snap.offsets[last]!);
  try {
    if ((JSON.parse(probe.toString('utf8')) as { revision?: number }).revision !== snap.index.head) return 0;
  } catch {
    return 0;
  }
  db.index = EventIndex.fromState(snap.index);
  db.offsets = snap.offsets;
  db.lengths = snap.lengths;
  db.snapshotLogSize = snap.logSize;
  return snap.logSize;
}

/** Rebuilds a database's index from its snapshot and log, and cuts off a torn tail. */
async function recover(db: FileDatabase): Promise<void> {
  const { size: fileSize } = await db.log.stat();
  const start = await loadSnapshot(db, fileSize);
  let buf = Buffer.alloc(0);
  let bufStart = start; // file offset of buf[0]
  let pos = 0; // parse position within buf
  let good = start; // file offset after the last whole frame
  let tornReason: string | undefined;
  for (;;) {
    const parsed = parseFrame(buf, pos, bufStart);
    if (parsed.kind === 'frame') {
      for (const e of parsed.events) {
        const json = buf.toString('utf8', e.offset - bufStart, e.offset - bufStart + e.length);
        const stored = JSON.parse(json) as CloudEvent & { revision: number; recordedtime: string; effectiveTimeMs: number };
        const revision = db.index.head + 1;
        if (stored.revision !== revision) {
          throw new InternalError(`database "${db.name}": log holds revision ${stored.revision} where ${revision} was expected`);
        }
        stored.effectiveTimeMs = effectiveTimeMs(stored, stored.recordedtime);
        db.index.add(revision, stored);
        db.place(revision, e.offset, e.length);
      }
      pos += parsed.size;
      good = bufStart + pos;
      continue;
    }
    if (parsed.kind === 'torn') {
      tornReason = parsed.reason;
      break;
    }
    // Need more bytes: keep the unparsed rest and read the next chunk after it.
    const readFrom = bufStart + buf.length;
    if (readFrom >= fileSize) {
      if (pos < buf.length) tornReason = 'incomplete frame at end of log';
      break;
    }
    const chunk = Buffer.allocUnsafe(Math.max(RECOVERY_CHUNK_BYTES, parsed.size));
    const { bytesRead } = await db.log.read(chunk, 0, chunk.length, readFrom);
    buf = Buffer.concat([buf.subarray(pos), chunk.subarray(0, bytesRead)]);
    bufStart += pos;
    pos = 0;
  }
  if (good < fileSize) {
    // A crash can only tear the last group commit. Damage further back is corruption of
    // acknowledged data: refuse to start rather than silently cut it away.
    if (fileSize - good > MAX_GROUP_BYTES * 2) {
      throw new InternalError(
        `database "${db.name}": log is damaged at byte ${good} of ${fileSize} (${tornReason}); refusing to truncate acknowledged data`,
      );
    }
    // A frame cut short or corrupted by a crash was never acknowledged: drop it.
    await db.log.truncate(good);
    await db.log.datasync();
    process.emitWarning(`database "${db.name}": cut ${fileSize - good} bytes of torn log tail (${tornReason})`);
  }
  db.size = good;
}
