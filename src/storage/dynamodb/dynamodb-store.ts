/**
 * The DynamoDB adapter: one table shared by any number of Factum servers (key design in keys.ts).
 *
 * This class is the front: it opens and closes the store, keeps operations visible to close(),
 * turns DynamoDB's errors into Factum's, and hands each operation to the module that does it:
 *   catalog.ts   databases and their incarnations
 *   append.ts    appends, their guards and uniqueness of source + id
 *   read.ts      queries, from the base table and the GSIs
 *   blobs.ts     blobs, chunked when large
 *   cleanup.ts   removal of the items of deleted databases, in the background
 *   client.ts    the requests themselves, their retries and error translation
 * Within one server, appends to a database are queued so they do not race each other; between
 * servers, DynamoDB decides (append.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../../core/errors.ts';
import type { RawEvent } from '../../core/events.ts';
import type { SelectorAttr } from '../../core/selectors.ts';
import { SerialQueue } from '../serial-queue.ts';
import type { AppendOutcome, AppendRequest, DatabaseRecord, EventPage, EventQuery, EventStore, StorageHealth } from '../types.ts';
import { append } from './append.ts';
import * as blobs from './blobs.ts';
import * as catalog from './catalog.ts';
import { resumeCleanups, startCleanup, type Cleanups } from './cleanup.ts';
import { connect, translateError } from './client.ts';
import type { StoreContext } from './context.ts';
import { itemKey } from './items.ts';
import { A, CATALOG_PK } from './keys.ts';
import * as read from './read.ts';
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
  /** A client to use instead of building one; the store then leaves it open on close. */
  client?: DynamoDBClient;
  /**
   * How long after its commit an event is assumed to be in the GSIs. Younger events are read from
   * the base table. 0 trusts the GSIs at once; Infinity never uses them.
   */
  indexSettleMs?: number;
  /** Revision ranges up to this long are read from the base table even for selective queries. */
  directScanMaxRevisions?: number;
  /** Attempts after a transaction is cancelled by a conflicting transaction or throttling. */
  conflictRetries?: number;
  /** Ceiling of the first wait after such a cancellation; it doubles with each further attempt. */
  retryBaseDelayMs?: number;
}

const DEFAULT_INDEX_SETTLE_MS = 2000;
const DEFAULT_DIRECT_SCAN_MAX_REVISIONS = 100;
const DEFAULT_CONFLICT_RETRIES = 8;
const DEFAULT_RETRY_BASE_DELAY_MS = 20;
const HEALTH_TIMEOUT_MS = 5000;

export class DynamoDbEventStore implements EventStore {
  readonly adapter = 'dynamodb';
  private readonly ctx: StoreContext;
  private readonly ownsClient: boolean;
  private readonly createTable: boolean;
  private readonly writers = new Map<string, SerialQueue>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly cleanups: Cleanups = new Map();
  private sweep: Promise<void> = Promise.resolve();
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: DynamoDbEventStoreOptions) {
    this.createTable = options.createTable ?? false;
    this.ownsClient = !options.client;
    this.ctx = {
      ...connect(options),
      tableName: options.tableName,
      settings: {
        indexSettleMs: options.indexSettleMs ?? DEFAULT_INDEX_SETTLE_MS,
        directScanMaxRevisions: options.directScanMaxRevisions ?? DEFAULT_DIRECT_SCAN_MAX_REVISIONS,
        conflictRetries: options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES,
        retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
      },
      known: new Map(),
      isOpen: () => this.state === 'open',
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

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    // Cleanups stop after their current batch; the trash entries let the next start resume them.
    await this.settleCleanups();
    if (this.ownsClient) this.ctx.client.destroy();
  }

  /** Resolves once the removal of every deleted database started so far has finished or stopped. */
  async settleCleanups(): Promise<void> {
    await this.sweep;
    while (this.cleanups.size > 0) await Promise.allSettled([...this.cleanups.values()]);
  }

  async health(): Promise<StorageHealth> {
    if (this.state !== 'open') return { status: 'unavailable', message: this.state === 'closed' ? 'closed' : 'not open' };
    try {
      await this.ctx.doc.send(
        new GetCommand({ TableName: this.ctx.tableName, Key: itemKey(CATALOG_PK, 'health'), ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': A.pk } }),
        { abortSignal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) },
      );
      return { status: 'connected' };
    } catch (error) {
      return { status: 'unavailable', message: translateError(error, this.ctx.tableName).message };
    }
  }

  listDatabases(): Promise<DatabaseRecord[]> {
    return this.guarded(() => catalog.listDatabases(this.ctx));
  }

  getDatabase(name: string): Promise<DatabaseRecord | undefined> {
    return this.guarded(() => catalog.getDatabase(this.ctx, name));
  }

  createDatabase(name: string, createdAt: string): Promise<DatabaseRecord> {
    return this.guarded(() => this.track(() => catalog.createDatabase(this.ctx, name, createdAt)));
  }

  deleteDatabase(name: string): Promise<boolean> {
    return this.guarded(() =>
      this.track(async () => {
        const retired = await catalog.deleteDatabase(this.ctx, name);
        if (retired === undefined) return false;
        startCleanup(this.ctx, this.cleanups, retired);
        return true;
      }),
    );
  }

  appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome> {
    return this.guarded(() => {
      let writer = this.writers.get(database);
      if (!writer) this.writers.set(database, (writer = new SerialQueue()));
      return this.track(() => writer.run(() => append(this.ctx, database, request)));
    });
  }

  query(database: string, query: EventQuery): Promise<EventPage> {
    return this.guarded(() => read.query(this.ctx, database, query));
  }

  findByKeys(database: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
    return this.guarded(() => read.findByKeys(this.ctx, database, keys));
  }

  readEvent(database: string, revision: number): Promise<RawEvent | undefined> {
    return this.guarded(() => read.readEvent(this.ctx, database, revision));
  }

  distinctValues(database: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
    return this.guarded(() => read.distinctValues(this.ctx, database, attr, prefix, limit));
  }

  putBlob(database: string, blobKey: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    return this.guarded(() => this.track(() => blobs.putBlob(this.ctx, database, blobKey, bytes, options.ifAbsent ?? false)));
  }

  getBlob(database: string, blobKey: string): Promise<Uint8Array | undefined> {
    return this.guarded(() => blobs.getBlob(this.ctx, database, blobKey));
  }

  listBlobs(database: string, prefix: string): Promise<string[]> {
    return this.guarded(() => blobs.listBlobs(this.ctx, database, prefix));
  }

  deleteBlobs(database: string, prefix: string): Promise<number> {
    return this.guarded(() => this.track(() => blobs.deleteBlobs(this.ctx, database, prefix)));
  }

  /** Runs an operation on the open store and turns DynamoDB's errors into Factum's. */
  private async guarded<T>(operation: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') throw new UnavailableError(this.state === 'closed' ? 'the store is closed' : 'the store is not open');
    try {
      return await operation();
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
