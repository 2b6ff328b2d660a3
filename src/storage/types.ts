/**
 * The one storage interface. Adapters (memory, file, dynamodb) implement it and all pass the
 * conformance suite in test/storage/conformance.ts. Storage knows events, selectors and
 * revisions; it knows nothing of HTTP or of how constraints are phrased.
 */
import type { CloudEvent, RawEvent } from '../core/events.ts';
import type { Selector, SelectorAttr } from '../core/selectors.ts';

export interface DatabaseRecord {
  name: string;
  created_at: string;
  latest_revision: number;
  event_count: number;
}

/**
 * A guard makes an append conditional: it fails if any event matching one of `scopes` was
 * appended after `basis` (an `undefined` scope matches every event). This is how constraints
 * checked at `basis` are made to still hold at the moment of the write.
 */
export interface AppendGuard {
  basis: number;
  scopes: Array<Selector | undefined>;
}

/**
 * A blob written in the same transaction as the events (a consumer's position, acknowledged with
 * the events its projection derived), and only if `position` is greater than that of the
 * checkpoint stored under `key` before: positions only move forward, so work done twice cannot
 * be committed twice. Read it back with getBlob; write and delete it no other way than appends
 * and deleteBlobs. `bytes` are small (at most CHECKPOINT_MAX_BYTES).
 */
export interface AppendCheckpoint {
  key: string;
  position: number;
  bytes: Uint8Array;
}

/** Checkpoint bytes an adapter must take in a transaction. */
export const CHECKPOINT_MAX_BYTES = 4096;

export interface AppendRequest {
  events: CloudEvent[];
  /** Shared by every event of the transaction. */
  recordedtime: string;
  guard?: AppendGuard;
  /** Only with at least one event. */
  checkpoint?: AppendCheckpoint;
  /** The append writes nothing if its last revision would be greater (a quota on events). */
  maxRevision?: number;
}

export type AppendOutcome =
  | { kind: 'appended'; firstRevision: number; lastRevision: number }
  /**
   * Some events' source + id are already stored: nothing was written. `existing[i]` is the stored
   * event with the key of `events[i]`, or undefined where that event is new.
   */
  | { kind: 'duplicates'; existing: Array<RawEvent | undefined> }
  /** An event in a guarded scope was appended after the basis; nothing was written. */
  | { kind: 'guard_failed'; head: number }
  /** The checkpoint stored under the key is at `position`, at or past the one given; nothing was written. */
  | { kind: 'checkpoint_behind'; position: number }
  /** The last revision would exceed `maxRevision`; nothing was written. */
  | { kind: 'limit_exceeded'; head: number };

export interface EventQuery {
  selector?: Selector;
  /** Inclusive revision bounds. */
  fromRevision?: number;
  toRevision?: number;
  /** Inclusive bounds on effective time (CloudEvents `time`, else recordedtime), epoch ms. */
  fromTimeMs?: number;
  toTimeMs?: number;
  direction: 'forward' | 'backward';
  limit: number;
  /**
   * The caller accepts an answer that may leave out events committed moments before the query,
   * in exchange for a cheaper read: adapters whose secondary indexes lag behind writes (DynamoDB)
   * may then answer from them. Unset, every query sees every event committed before it started.
   * Never set it for a read that decides anything (constraints, guards, state views and changes).
   * Adapters that are always exact (memory, file) ignore it.
   */
  allowIndexLag?: boolean;
}

export interface EventPage {
  events: RawEvent[];
  /** More events match beyond the limit (within the revision bounds). */
  hasMore: boolean;
}

export interface StorageHealth {
  status: 'connected' | 'unavailable';
  message?: string;
}

/**
 * What an adapter reports as it works, for the server's metrics: plain callbacks, each
 * optional, so storage knows nothing of how they are counted. They run on the write and read
 * paths, so they must be cheap and must not throw.
 */
export interface StoreObserver {
  /** A transaction was written: its events and the UTF-8 bytes of their stored JSON. */
  appended?(database: string, events: number, bytes: number): void;
  /** A query was answered with `events` events. */
  queried?(database: string, events: number): void;
  /** The file store wrote `transactions` transactions with one write and one fdatasync. */
  groupCommitted?(transactions: number, syncSeconds: number): void;
  /** DynamoDB answered one TransactWriteItems (each attempt counts once). */
  transactionAttempted?(outcome: TransactionOutcome): void;
}

/**
 * `conflict`: cancelled by a concurrent transaction; `throttled`: cancelled or refused for
 * capacity; `condition_failed`: a condition did not hold (a lost race, a duplicate key).
 */
export type TransactionOutcome = 'committed' | 'conflict' | 'throttled' | 'condition_failed' | 'error';

export interface EventStore {
  /** `file`, `memory` or `dynamodb`. */
  readonly adapter: string;
  open(): Promise<void>;
  /** Waits for appends in flight, then releases files and connections. */
  close(): Promise<void>;
  health(): Promise<StorageHealth>;

  listDatabases(): Promise<DatabaseRecord[]>;
  getDatabase(name: string): Promise<DatabaseRecord | undefined>;
  /** Throws AlreadyExistsError when the name is taken. */
  createDatabase(name: string, createdAt: string): Promise<DatabaseRecord>;
  /** Removes every trace of the database; false when it did not exist. */
  deleteDatabase(name: string): Promise<boolean>;

  /**
   * Appends all events or none, with dense revisions following the database's latest one.
   * Atomically with the write it checks the guard and that no event's source + id is stored.
   * Throws NotFoundError when the database does not exist.
   */
  appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome>;
  query(database: string, query: EventQuery): Promise<EventPage>;
  /** The stored event with each given source + id, or undefined where there is none. */
  findByKeys(database: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>>;
  readEvent(database: string, revision: number): Promise<RawEvent | undefined>;
  /** Distinct values of an attribute that start with `prefix`, ascending, at most `limit`. */
  distinctValues(database: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]>;

  /**
   * Blobs: opaque bytes a database holds besides its events (uploaded components, state-view
   * snapshots). Keys are `/`-separated paths of letters, digits and `-_.=`; they are deleted with
   * the database. With `ifAbsent` the put writes only if the key is free and says whether it did,
   * which makes version numbers safe to allocate from several writers.
   */
  putBlob(database: string, key: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }): Promise<boolean>;
  getBlob(database: string, key: string): Promise<Uint8Array | undefined>;
  /** Keys starting with `prefix`, in ascending order. */
  listBlobs(database: string, prefix: string): Promise<string[]>;
  /** Deletes every blob whose key starts with `prefix`; returns how many. */
  deleteBlobs(database: string, prefix: string): Promise<number>;

  /**
   * Server records: small documents that belong to the server rather than to a database (API
   * keys, console sessions, secrets every server on the same storage shares). Keys follow the
   * blob key rule. Reads see every completed write, on every server sharing the storage, so a
   * revoked key is refused everywhere at once.
   */
  putRecord(key: string, bytes: Uint8Array, options?: { ifAbsent?: boolean }): Promise<boolean>;
  getRecord(key: string): Promise<Uint8Array | undefined>;
  /** Keys starting with `prefix`, in ascending order. */
  listRecords(prefix: string): Promise<string[]>;
  /** False when there was no such record. */
  deleteRecord(key: string): Promise<boolean>;
}

/** Blob keys are paths of safe segments, so every adapter can store them as they are. */
export const BLOB_KEY_PATTERN = /^[A-Za-z0-9_.=-]+(?:\/[A-Za-z0-9_.=-]+)*$/;

export function assertBlobKey(key: string): void {
  if (!BLOB_KEY_PATTERN.test(key) || key.split('/').some((s) => s === '.' || s === '..') || key.length > 200) {
    throw new Error(`invalid blob key "${key}"`);
  }
}
