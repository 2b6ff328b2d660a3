/**
 * The durable file store, Factum's embedded default.
 *
 * Layout under the data directory:
 *   LOCK                      pid of the process that owns the directory (fs-util.ts)
 *   databases/<name>/database.json   name and creation time
 *   databases/<name>/events.log      append-only log of transaction frames (log-format.ts)
 *   databases/<name>/index.snapshot  the index as of some log size (index-snapshot.ts)
 *   databases/<name>/blobs/          blobs (blobs.ts)
 *   records/                  server records: API keys, console sessions (blobs.ts, same rules)
 *   tmp/, trash/              staging for atomic create and delete (catalog.ts); emptied on start
 *
 * Appends to one database go through its group-commit writer (group-commit.ts): one write and one
 * fdatasync for every request waiting, and only then are the events visible and acknowledged. On
 * start each log is scanned, its index rebuilt in memory and a torn tail cut off (recovery.ts).
 * This class ties those together: the catalog of open databases, the lock, and closing.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExistsError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import type { SelectorAttr } from '../../core/selectors.ts';
import type { RawEvent } from '../../core/events.ts';
import { assertCheckpoint, findByKey, mayBeStored, StagedEvents } from '../append-checks.ts';
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
  type StoreObserver,
} from '../types.ts';
import * as blobs from './blobs.ts';
import { createDatabaseDirectory, removeDatabaseDirectory, resetStaging } from './catalog.ts';
import { deleteCheckpoints } from './checkpoints.ts';
import { BLOB_DIR, type FileDatabase } from './database.ts';
import { acquireDirectoryLock, type DirectoryLock } from './fs-util.ts';
import { submitAppend, type CommitStats } from './group-commit.ts';
import { recoverDatabases } from './recovery.ts';

export interface FileEventStoreOptions {
  dataDir: string;
  observer?: StoreObserver;
}

export class FileEventStore implements EventStore {
  readonly adapter = 'file';
  /** Counts that show group commit at work: transactions written per fdatasync. */
  readonly stats: CommitStats = { transactions: 0, syncs: 0 };
  private readonly databases = new Map<string, FileDatabase>();
  /** Server records as last read or written; undefined: known to be absent. */
  private readonly records = new Map<string, Uint8Array | undefined>();
  private recordWrites = 0;
  private readonly dataDir: string;
  private readonly observer: StoreObserver | undefined;
  private lock: DirectoryLock | undefined;
  private closing = false;
  /** Create and delete of databases run one at a time, so names never race. */
  private catalog: Promise<unknown> = Promise.resolve();

  constructor(options: FileEventStoreOptions) {
    this.dataDir = options.dataDir;
    this.observer = options.observer;
  }

  private get databasesDir(): string {
    return join(this.dataDir, 'databases');
  }

  async open(): Promise<void> {
    await mkdir(this.databasesDir, { recursive: true });
    await mkdir(this.recordsDir, { recursive: true });
    this.lock = await acquireDirectoryLock(this.dataDir);
    try {
      await resetStaging(this.dataDir);
      // Each database is in the map as soon as it is open, so it is closed if a later one fails.
      for await (const db of recoverDatabases(this.databasesDir)) this.databases.set(db.name, db);
    } catch (error) {
      // A store that did not open holds nothing: its logs are closed and the data directory is
      // free for the operator to inspect or for the next start.
      for (const db of this.databases.values()) await db.log.close().catch(() => undefined);
      this.databases.clear();
      await this.lock.release();
      this.lock = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.catalog;
    for (const db of this.databases.values()) {
      await db.settle();
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
      const db = await createDatabaseDirectory(this.dataDir, this.databasesDir, name, createdAt);
      this.databases.set(name, db);
      return db.record();
    });
  }

  deleteDatabase(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      const db = this.databases.get(name);
      if (!db) return false;
      // Out of the map first: no new append reaches it, and the writer rejects those queued.
      db.deleted = true;
      this.databases.delete(name);
      await db.settle();
      await db.log.close();
      await removeDatabaseDirectory(this.dataDir, this.databasesDir, db);
      return true;
    });
  }

  async appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome> {
    if (this.closing) throw new UnavailableError('the server is shutting down');
    assertCheckpoint(request);
    return submitAppend(this.require(database), request, this.stats, this.observer);
  }

  async query(database: string, query: EventQuery): Promise<EventPage> {
    const db = this.require(database);
    const page = await pageFromIndex(db.index, query, (revisions) => db.read(revisions));
    this.observer?.queried?.(database, page.events.length);
    return page;
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
    return blobs.putBlob(await this.blobDir(database), key, bytes, options.ifAbsent ?? false);
  }

  async getBlob(database: string, key: string): Promise<Uint8Array | undefined> {
    assertBlobKey(key);
    const checkpoint = this.require(database).checkpoints.get(key);
    if (checkpoint) return Uint8Array.from(checkpoint.bytes);
    return blobs.getBlob(await this.blobDir(database), key);
  }

  async listBlobs(database: string, prefix: string): Promise<string[]> {
    const checkpoints = [...this.require(database).checkpoints.keys()].filter((key) => key.startsWith(prefix));
    const stored = await blobs.listBlobs(await this.blobDir(database), prefix);
    return checkpoints.length === 0 ? stored : [...new Set([...stored, ...checkpoints])].sort();
  }

  async deleteBlobs(database: string, prefix: string): Promise<number> {
    const db = this.require(database);
    return (await blobs.deleteBlobs(await this.blobDir(database), prefix)) + (await deleteCheckpoints(db, prefix));
  }

  // Only this process writes the data directory (the LOCK), so what it read or wrote stays
  // true until it writes again: records are cached, which keeps key checks off the disk.
  async putRecord(key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    assertBlobKey(key);
    const written = await blobs.putBlob(this.recordsDir, key, bytes, options.ifAbsent ?? false);
    this.recordWrites++;
    if (written) this.records.set(key, Uint8Array.from(bytes));
    else this.records.delete(key);
    return written;
  }

  async getRecord(key: string): Promise<Uint8Array | undefined> {
    assertBlobKey(key);
    let record = this.records.get(key);
    if (!this.records.has(key)) {
      const writes = this.recordWrites;
      record = await blobs.getBlob(this.recordsDir, key);
      // A write that finished while this read ran may be newer than what it found.
      if (writes === this.recordWrites) this.records.set(key, record);
    }
    return record && Uint8Array.from(record);
  }

  async listRecords(prefix: string): Promise<string[]> {
    return blobs.listBlobs(this.recordsDir, prefix);
  }

  async deleteRecord(key: string): Promise<boolean> {
    assertBlobKey(key);
    const deleted = await blobs.deleteBlobs(this.recordsDir, key, { exact: true });
    this.recordWrites++;
    this.records.set(key, undefined);
    return deleted > 0;
  }

  private get recordsDir(): string {
    return join(this.dataDir, 'records');
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
}
