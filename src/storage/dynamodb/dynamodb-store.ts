/**
 * The DynamoDB adapter: one table shared by any number of Factum servers (key design in keys.ts).
 *
 * This class is the front: it opens and closes the store, gives every operation a deadline,
 * keeps operations visible to close(), turns DynamoDB's errors into Factum's, and hands each
 * operation to the module that does it:
 *   catalog.ts       databases and their incarnations
 *   group-commit.ts  appends, queued per database and committed together (append.ts,
 *                    append-actions.ts, guards.ts)
 *   read.ts          queries: exact ones (exact-read.ts, latest.ts, scan.ts) and those that
 *                    accept index lag (indexed-read.ts)
 *   catch-up.ts      latest-value items that did not fit their append's transaction
 *   blobs.ts         blobs, chunked when large
 *   cleanup.ts       removal of the items of deleted databases, in the background
 *   client.ts        the requests themselves, their timeouts, retries and error translation
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../../core/errors.ts';
import { storedEventJson, type RawEvent } from '../../core/events.ts';
import type { SelectorAttr } from '../../core/selectors.ts';
import type { AppendOutcome, AppendRequest, DatabaseRecord, EventPage, EventQuery, EventStore, StorageHealth, StoreObserver } from '../types.ts';
import * as blobs from './blobs.ts';
import * as catalog from './catalog.ts';
import { resumeCleanups, startCleanup, type Cleanups } from './cleanup.ts';
import { buildClient, documentClient, translateError, withDeadline, type ClientTimeouts } from './client.ts';
import type { StoreContext } from './context.ts';
import { settleWriters, submitAppend, type Writers } from './group-commit.ts';
import { itemKey } from './items.ts';
import { A, CATALOG_PK } from './keys.ts';
import * as read from './read.ts';
import * as records from './records.ts';
import { ensureTable } from './table.ts';

export interface DynamoDbEventStoreOptions {
  tableName: string;
  /** For DynamoDB Local or another compatible endpoint; AWS otherwise. */
  endpoint?: string;
  region?: string;
  /** The standard AWS credential chain applies when these are not given. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Create the table (on-demand capacity) when it does not exist, instead of refusing to open. */
  createTable?: boolean;
  /**
   * A client to use instead of building one; the store then leaves it open on close, and the
   * connection, request and attempt settings below are the client's own business.
   */
  client?: DynamoDBClient;
  /** Establishing a connection to DynamoDB. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** One attempt of one request, from sending it to its answer. Default 3000 ms. */
  requestTimeoutMs?: number;
  /** Attempts per request, the SDK's retries of throttling, 5xx answers and timeouts included. Default 3. */
  requestAttempts?: number;
  /**
   * The longest one store operation (an append with its wait for its turn, a query, reading a
   * database) waits on DynamoDB in all before it fails with UNAVAILABLE. Default 5000 ms.
   * Blob transfers, which grow with the blob, are bounded per request only.
   */
  operationTimeoutMs?: number;
  /**
   * For queries that accept index lag only: how long after its commit an event is assumed to be
   * in the GSIs; younger events are read from the base table. 0 trusts the GSIs at once;
   * Infinity never uses them. Exact queries (the default) never read the GSIs.
   */
  indexSettleMs?: number;
  /** Revision ranges up to this long are read from the base table even when a query accepts lag. */
  directScanMaxRevisions?: number;
  /** Attempts after a transaction is cancelled by a conflicting transaction or throttling. */
  conflictRetries?: number;
  /** Ceiling of the first wait after such a cancellation; it doubles with each further attempt. */
  retryBaseDelayMs?: number;
  observer?: StoreObserver;
}

const DEFAULT_TIMEOUTS: ClientTimeouts = { connectTimeoutMs: 1000, requestTimeoutMs: 3000, requestAttempts: 3 };
const DEFAULT_OPERATION_TIMEOUT_MS = 5000;
const DEFAULT_INDEX_SETTLE_MS = 2000;
const DEFAULT_DIRECT_SCAN_MAX_REVISIONS = 100;
const DEFAULT_CONFLICT_RETRIES = 8;
const DEFAULT_RETRY_BASE_DELAY_MS = 20;

export class DynamoDbEventStore implements EventStore {
  readonly adapter = 'dynamodb';
  private readonly ctx: StoreContext;
  private readonly ownsClient: boolean;
  private readonly createTable: boolean;
  private readonly writers: Writers = new Map();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly cleanups: Cleanups = new Map();
  private sweep: Promise<void> = Promise.resolve();
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: DynamoDbEventStoreOptions) {
    this.createTable = options.createTable ?? false;
    this.ownsClient = !options.client;
    const client =
      options.client ??
      buildClient(options, {
        connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectTimeoutMs,
        requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_TIMEOUTS.requestTimeoutMs,
        requestAttempts: options.requestAttempts ?? DEFAULT_TIMEOUTS.requestAttempts,
      });
    this.ctx = {
      client,
      doc: documentClient(client),
      tableName: options.tableName,
      settings: {
        indexSettleMs: options.indexSettleMs ?? DEFAULT_INDEX_SETTLE_MS,
        directScanMaxRevisions: options.directScanMaxRevisions ?? DEFAULT_DIRECT_SCAN_MAX_REVISIONS,
        conflictRetries: options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES,
        retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
        operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      },
      known: new Map(),
      catchUps: new Map(),
      isOpen: () => this.state === 'open',
      observer: options.observer,
    };
  }

  async open(): Promise<void> {
    try {
      await ensureTable(this.ctx.client, this.ctx.tableName, this.createTable);
    } catch (error) {
      throw translateError(error, this.ctx.tableName);
    }
    this.state = 'open';
    // Deletions interrupted earlier (by a crash or a shutdown) are finished in the background.
    this.sweep = resumeCleanups(this.ctx, this.cleanups).catch((error: unknown) =>
      process.emitWarning(`DynamoDB: could not look for deleted databases to clean up: ${(error as Error).message}`),
    );
  }

  /** Every operation is bounded in time, so this is too, even while DynamoDB does not answer. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    // Writers finish what their appends left (bounded like every request); catch-ups and
    // cleanups stop after their current step, and the next start resumes them.
    await this.settleCatchUps();
    await this.settleCleanups();
    if (this.ownsClient) this.ctx.client.destroy();
  }

  /** Resolves once the removal of every deleted database started so far has finished or stopped. */
  async settleCleanups(): Promise<void> {
    await this.sweep;
    while (this.cleanups.size > 0) await Promise.allSettled([...this.cleanups.values()]);
  }

  /** Resolves once appends and the latest-value items of every database are written (or stopped trying). */
  async settleCatchUps(): Promise<void> {
    do {
      await settleWriters(this.writers);
      while (this.ctx.catchUps.size > 0) await Promise.allSettled([...this.ctx.catchUps.values()].map((run) => run.done));
    } while ([...this.writers.values()].some((w) => w.running));
  }

  async health(): Promise<StorageHealth> {
    if (this.state !== 'open') return { status: 'unavailable', message: this.state === 'closed' ? 'closed' : 'not open' };
    try {
      const ctx = withDeadline(this.ctx, this.ctx.settings.operationTimeoutMs);
      await ctx.doc.send(
        new GetCommand({ TableName: ctx.tableName, Key: itemKey(CATALOG_PK, 'health'), ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': A.pk } }),
      );
      return { status: 'connected' };
    } catch (error) {
      return { status: 'unavailable', message: translateError(error, this.ctx.tableName).message };
    }
  }

  listDatabases(): Promise<DatabaseRecord[]> {
    return this.guarded((ctx) => catalog.listDatabases(ctx));
  }

  getDatabase(name: string): Promise<DatabaseRecord | undefined> {
    return this.guarded((ctx) => catalog.getDatabase(ctx, name));
  }

  createDatabase(name: string, createdAt: string): Promise<DatabaseRecord> {
    return this.guarded((ctx) => this.track(() => catalog.createDatabase(ctx, name, createdAt)));
  }

  deleteDatabase(name: string): Promise<boolean> {
    return this.guarded((ctx) =>
      this.track(async () => {
        const retired = await catalog.deleteDatabase(ctx, name);
        if (retired === undefined) return false;
        startCleanup(this.ctx, this.cleanups, retired);
        return true;
      }),
    );
  }

  /** Queued with the other appends to the database from this server; each round has its own deadline. */
  async appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome> {
    const outcome = await this.guarded(() => this.track(() => submitAppend(this.ctx, this.writers, database, request)));
    const observer = this.ctx.observer;
    if (outcome.kind === 'appended' && observer?.appended) observer.appended(database, request.events.length, storedBytes(request, outcome.firstRevision));
    return outcome;
  }

  async query(database: string, query: EventQuery): Promise<EventPage> {
    const page = await this.guarded((ctx) => read.query(ctx, database, query));
    this.ctx.observer?.queried?.(database, page.events.length);
    return page;
  }

  findByKeys(database: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
    return this.guarded((ctx) => read.findByKeys(ctx, database, keys));
  }

  readEvent(database: string, revision: number): Promise<RawEvent | undefined> {
    return this.guarded((ctx) => read.readEvent(ctx, database, revision));
  }

  distinctValues(database: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
    return this.guarded((ctx) => read.distinctValues(ctx, database, attr, prefix, limit));
  }

  putBlob(database: string, blobKey: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    return this.guarded(() => this.track(() => blobs.putBlob(this.ctx, database, blobKey, bytes, options.ifAbsent ?? false)));
  }

  getBlob(database: string, blobKey: string): Promise<Uint8Array | undefined> {
    return this.guarded(() => blobs.getBlob(this.ctx, database, blobKey));
  }

  listBlobs(database: string, prefix: string): Promise<string[]> {
    return this.guarded((ctx) => blobs.listBlobs(ctx, database, prefix));
  }

  deleteBlobs(database: string, prefix: string): Promise<number> {
    return this.guarded((ctx) => this.track(() => blobs.deleteBlobs(ctx, database, prefix)));
  }

  putRecord(key: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    return this.guarded((ctx) => this.track(() => records.putRecord(ctx, key, bytes, options.ifAbsent ?? false)));
  }

  getRecord(key: string): Promise<Uint8Array | undefined> {
    return this.guarded((ctx) => records.getRecord(ctx, key));
  }

  listRecords(prefix: string): Promise<string[]> {
    return this.guarded((ctx) => records.listRecords(ctx, prefix));
  }

  deleteRecord(key: string): Promise<boolean> {
    return this.guarded((ctx) => this.track(() => records.deleteRecord(ctx, key)));
  }

  /**
   * Runs an operation on the open store, under a deadline (blob transfers, which grow with the
   * blob, take the context without one), and turns DynamoDB's errors into Factum's.
   */
  private async guarded<T>(operation: (ctx: StoreContext) => Promise<T>): Promise<T> {
    if (this.state !== 'open') throw new UnavailableError(this.state === 'closed' ? 'the store is closed' : 'the store is not open');
    try {
      return await operation(withDeadline(this.ctx, this.ctx.settings.operationTimeoutMs));
    } catch (error) {
      throw translateError(error, this.ctx.tableName);
    }
  }

  /** Keeps an operation visible to close(), which waits for it. */
  private track<T>(operation: () => Promise<T>): Promise<T> {
    const running = operation();
    this.inFlight.add(running);
    void running.then(
      () => this.inFlight.delete(running),
      () => this.inFlight.delete(running),
    );
    return running;
  }
}

/**
 * The UTF-8 bytes of a transaction's stored JSON, as the other adapters count them. The items are
 * built deep in the commit; serialising again here costs little next to DynamoDB's round trip.
 */
function storedBytes(request: AppendRequest, firstRevision: number): number {
  return request.events.reduce((sum, event, i) => sum + Buffer.byteLength(storedEventJson(event, firstRevision + i, request.recordedtime)), 0);
}
