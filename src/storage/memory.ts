/**
 * The memory adapter: the same behaviour as the file store without durability, for fast tests
 * and throwaway servers.
 */
import { AlreadyExistsError, NotFoundError, UnavailableError } from '../core/errors.ts';
import { extensionsOf, type SelectorAttr } from '../core/selectors.ts';
import { effectiveTimeMs, storedEventJson, type RawEvent } from '../core/events.ts';
import { assertCheckpoint, checkAppend, checkBounds, findByKey, mayBeStored, StagedEvents } from './append-checks.ts';
import { EventIndex } from './event-index.ts';
import { pageFromIndex } from './index-query.ts';
import { SerialQueue } from './serial-queue.ts';
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
} from './types.ts';

export interface MemoryEventStoreOptions {
  observer?: StoreObserver;
}

interface MemoryDatabase {
  name: string;
  createdAt: string;
  index: EventIndex;
  events: string[];
  writes: SerialQueue;
  blobs: Map<string, Uint8Array>;
  /** The position of each checkpoint among the blobs. */
  checkpoints: Map<string, number>;
}

export class MemoryEventStore implements EventStore {
  readonly adapter = 'memory';
  private readonly databases = new Map<string, MemoryDatabase>();
  private readonly records = new Map<string, Uint8Array>();
  private closed = false;
  private readonly observer: StoreObserver | undefined;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.observer = options.observer;
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.databases.values()].map((db) => db.writes.idle()));
  }

  async health(): Promise<StorageHealth> {
    return this.closed ? { status: 'unavailable', message: 'closed' } : { status: 'connected' };
  }

  async listDatabases(): Promise<DatabaseRecord[]> {
    return [...this.databases.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(toRecord);
  }

  async getDatabase(name: string): Promise<DatabaseRecord | undefined> {
    const db = this.databases.get(name);
    return db && toRecord(db);
  }

  async createDatabase(name: string, createdAt: string): Promise<DatabaseRecord> {
    if (this.databases.has(name)) throw new AlreadyExistsError(`database "${name}" already exists`, { name });
    const db: MemoryDatabase = { name, createdAt, index: new EventIndex(), events: [], writes: new SerialQueue(), blobs: new Map(), checkpoints: new Map() };
    this.databases.set(name, db);
    return toRecord(db);
  }

  async deleteDatabase(name: string): Promise<boolean> {
    return this.databases.delete(name);
  }

  async appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome> {
    if (this.closed) throw new UnavailableError('the store is closed');
    const db = this.require(database);
    assertCheckpoint(request);
    return db.writes.run(async () => {
      const rejected =
        (await checkAppend(db.index, request, new StagedEvents(), async (rev) => readFrom(db, rev))) ??
        checkBounds(request, db.index.head, request.checkpoint && db.checkpoints.get(request.checkpoint.key));
      if (rejected) return rejected;
      if (request.checkpoint) {
        db.blobs.set(request.checkpoint.key, Uint8Array.from(request.checkpoint.bytes));
        db.checkpoints.set(request.checkpoint.key, request.checkpoint.position);
      }
      const firstRevision = db.index.head + 1;
      let bytes = 0;
      request.events.forEach((event, i) => {
        const revision = firstRevision + i;
        const json = storedEventJson(event, revision, request.recordedtime);
        db.events.push(json);
        if (this.observer) bytes += Buffer.byteLength(json);
        const { source, type, subject, id } = event;
        db.index.add(revision, { source, type, subject, id, effectiveTimeMs: effectiveTimeMs(event, request.recordedtime), extensionAttributes: extensionsOf(event) });
      });
      this.observer?.appended?.(database, request.events.length, bytes);
      return { kind: 'appended', firstRevision, lastRevision: db.index.head };
    });
  }

  async query(database: string, query: EventQuery): Promise<EventPage> {
    const db = this.require(database);
    const page = await pageFromIndex(db.index, query, async (revisions) => revisions.map((rev) => readFrom(db, rev)!));
    this.observer?.queried?.(database, page.events.length);
    return page;
  }

  async findByKeys(database: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
    const db = this.require(database);
    const none = new StagedEvents();
    return Promise.all(keys.map((key) => (mayBeStored(db.index, key, none) ? findByKey(db.index, key, none, async (rev) => readFrom(db, rev)) : undefined)));
  }

  async distinctValues(database: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
    return this.require(database).index.distinctValues(attr, prefix, limit);
  }

  async readEvent(database: string, revision: number): Promise<RawEvent | undefined> {
    return readFrom(this.require(database), revision);
  }

  async putBlob(database: string, key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    assertBlobKey(key);
    const db = this.require(database);
    if (options.ifAbsent && db.blobs.has(key)) return false;
    db.blobs.set(key, Uint8Array.from(bytes));
    return true;
  }

  async getBlob(database: string, key: string): Promise<Uint8Array | undefined> {
    const blob = this.require(database).blobs.get(key);
    return blob && Uint8Array.from(blob);
  }

  async listBlobs(database: string, prefix: string): Promise<string[]> {
    return [...this.require(database).blobs.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async deleteBlobs(database: string, prefix: string): Promise<number> {
    const db = this.require(database);
    const doomed = [...db.blobs.keys()].filter((k) => k.startsWith(prefix));
    for (const key of doomed) {
      db.blobs.delete(key);
      db.checkpoints.delete(key);
    }
    return doomed.length;
  }

  async putRecord(key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    assertBlobKey(key);
    if (options.ifAbsent && this.records.has(key)) return false;
    this.records.set(key, Uint8Array.from(bytes));
    return true;
  }

  async getRecord(key: string): Promise<Uint8Array | undefined> {
    const record = this.records.get(key);
    return record && Uint8Array.from(record);
  }

  async listRecords(prefix: string): Promise<string[]> {
    return [...this.records.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async deleteRecord(key: string): Promise<boolean> {
    return this.records.delete(key);
  }

  private require(name: string): MemoryDatabase {
    const db = this.databases.get(name);
    if (!db) throw new NotFoundError(`database "${name}" does not exist`, { name });
    return db;
  }
}

function readFrom(db: MemoryDatabase, revision: number): RawEvent | undefined {
  const json = Number.isSafeInteger(revision) && revision >= 1 ? db.events[revision - 1] : undefined;
  return json === undefined ? undefined : { revision, json };
}

function toRecord(db: MemoryDatabase): DatabaseRecord {
  return { name: db.name, created_at: db.createdAt, latest_revision: db.index.head, event_count: db.index.head };
}
