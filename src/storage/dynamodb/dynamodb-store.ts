/**
 * The DynamoDB adapter: one table shared by any number of Factum servers (key design in keys.ts).
 *
 * Appends: one TransactWriteItems per transaction, updating the database's head item on the
 * condition that it still holds the head the events were numbered after, putting the events, and
 * putting one uniqueness item per source + id on the condition that it does not exist. The head
 * item is the single point every writer of a database passes, so revisions stay dense and unique
 * across servers. Guards are checked by a consistent read of the base table over (basis, head]
 * before the commit; the commit's head condition makes that check still true at write time.
 * Within one server, appends to a database are queued so they do not race each other.
 *
 * Queries: revision ranges read the base table consistently. Selective queries (equals on
 * stream, type or subject) read GSIs, which DynamoDB updates shortly after a write; events
 * committed within the last `indexSettleMs` are therefore read from the base table instead, so
 * a query sees every event committed before it started unless an index lags by more than that.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  type CancellationReason,
  type QueryCommandInput,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  AlreadyExistsError,
  FactumError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
} from '../../core/errors.ts';
import type { CloudEvent, RawEvent } from '../../core/events.ts';
import { anyOf, attrValue, SELECTOR_ATTRS, type Selector, type SelectorAttr } from '../../core/selectors.ts';
import { SerialQueue } from '../serial-queue.ts';
import {
  assertBlobKey,
  type AppendGuard,
  type AppendOutcome,
  type AppendRequest,
  type DatabaseRecord,
  type EventPage,
  type EventQuery,
  type EventStore,
  type StorageHealth,
} from '../types.ts';
import { filterExpression, indexPlan, itemMatches, type EventFilter, type IndexLookup } from './filters.ts';
import { assertWithinLimits, eventItems, itemBytes, MAX_TRANSACTION_ACTIONS, num, TRANSACTION_ITEMS_BUDGET_BYTES, type Item } from './items.ts';
import {
  A,
  BLOB_SK_PREFIX,
  CATALOG_PK,
  DATABASE_SK_PREFIX,
  HEAD_SK,
  INDEXES,
  MAX_LISTED_VALUE_BYTES,
  TRASH_SK_PREFIX,
  blobSk,
  chunkSk,
  databaseSk,
  eventKeySk,
  eventSk,
  indexKey,
  newBlobGeneration,
  newDatabaseId,
  trashSk,
  valueSkPrefix,
} from './keys.ts';
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

/** One life of a database name: its catalog entry and the partition it points to. */
interface Incarnation {
  name: string;
  createdAt: string;
  dbId: string;
  /** The latest head this server saw; appends start from it and correct it when it is stale. */
  head?: number;
  /** Value items (sort keys) known to exist, so appends do not write them again. */
  listedValues: Set<string>;
}

const DEFAULT_INDEX_SETTLE_MS = 2000;
const DEFAULT_DIRECT_SCAN_MAX_REVISIONS = 100;
const DEFAULT_CONFLICT_RETRIES = 8;
const DEFAULT_RETRY_BASE_DELAY_MS = 20;
const MAX_RETRY_DELAY_MS = 1000;
/** Appends lost to other servers before giving up; each loss means another append succeeded. */
const MAX_LOST_RACES = 100;
const MAX_PAGE_ITEMS = 1000;
/** Bounds the memory of the value cache per database; forgetting only costs rewrites. */
const MAX_CACHED_VALUES = 50_000;
const BATCH_GET_KEYS = 100;
const BATCH_WRITE_ITEMS = 25;
const BATCH_RETRIES = 10;
/** Blob bytes per item, leaving room under the 400 KB item limit for keys and attributes. */
const BLOB_CHUNK_BYTES = 384 * 1024;
/** Chunks per BatchWriteItem request, keeping requests near 3 MB (DynamoDB takes up to 16 MB). */
const CHUNKS_PER_BATCH = 8;
/** Reasons DynamoDB gives for cancelling a transaction that may pass when tried again. */
const RETRYABLE_REASONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

export class DynamoDbEventStore implements EventStore {
  readonly adapter = 'dynamodb';
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly tableName: string;
  private readonly createTable: boolean;
  private readonly indexSettleMs: number;
  private readonly directScanMaxRevisions: number;
  private readonly conflictRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly known = new Map<string, Incarnation>();
  private readonly writers = new Map<string, SerialQueue>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Removal of deleted incarnations, by partition key. */
  private readonly cleanups = new Map<string, Promise<void>>();
  private sweep: Promise<void> = Promise.resolve();
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(options: DynamoDbEventStoreOptions) {
    this.tableName = options.tableName;
    this.createTable = options.createTable ?? false;
    this.indexSettleMs = options.indexSettleMs ?? DEFAULT_INDEX_SETTLE_MS;
    this.directScanMaxRevisions = options.directScanMaxRevisions ?? DEFAULT_DIRECT_SCAN_MAX_REVISIONS;
    this.conflictRetries = options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
    this.ownsClient = !options.client;
    this.client =
      options.client ??
      new DynamoDBClient({
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.region ? { region: options.region } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
  }

  async open(): Promise<void> {
    try {
      await ensureTable(this.client, this.tableName, this.createTable);
    } catch (error) {
      throw this.translate(error);
    }
    this.state = 'open';
    // Deletions interrupted earlier (by a crash or a shutdown) are finished in the background.
    this.sweep = this.resumeCleanups().catch((error: unknown) =>
      process.emitWarning(`DynamoDB: could not look for deleted databases to clean up: ${(error as Error).message}`),
    );
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    // Cleanups stop after their current batch; the trash entries let the next start resume them.
    await this.settleCleanups();
    if (this.ownsClient) this.client.destroy();
  }

  /** Resolves once the removal of every deleted database started so far has finished or stopped. */
  async settleCleanups(): Promise<void> {
    await this.sweep;
    while (this.cleanups.size > 0) await Promise.allSettled([...this.cleanups.values()]);
  }

  async health(): Promise<StorageHealth> {
    if (this.state !== 'open') return { status: 'unavailable', message: this.state === 'closed' ? 'closed' : 'not open' };
    try {
      await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: key(CATALOG_PK, 'health'), ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': A.pk } }),
        { abortSignal: AbortSignal.timeout(5000) },
      );
      return { status: 'connected' };
    } catch (error) {
      return { status: 'unavailable', message: this.translate(error).message };
    }
  }

  listDatabases(): Promise<DatabaseRecord[]> {
    return this.guarded(async () => {
      const entries: Item[] = [];
      const input: QueryCommandInput = {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
        ExpressionAttributeValues: { ':pk': { S: CATALOG_PK }, ':prefix': { S: DATABASE_SK_PREFIX } },
        ConsistentRead: true,
      };
      for await (const item of this.pages(input, MAX_PAGE_ITEMS)) entries.push(item);
      const heads = await this.batchGet(entries.map((e) => key(e[A.db]!.S!, HEAD_SK)), [A.pk, A.head]);
      const headOf = new Map(heads.map((h) => [h[A.pk]!.S!, num(h[A.head])]));
      const records: DatabaseRecord[] = [];
      for (const entry of entries) {
        const head = headOf.get(entry[A.db]!.S!);
        // No head: deleted between the two reads.
        if (head !== undefined) records.push(record(entry[A.name]!.S!, entry[A.createdAt]!.S!, head));
      }
      return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  getDatabase(name: string): Promise<DatabaseRecord | undefined> {
    return this.guarded(async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const inc = await this.lookup(name);
        if (!inc) return undefined;
        const head = await this.readHead(inc.dbId);
        if (head === undefined) continue; // deleted, perhaps re-created, since the catalog read
        inc.head = head;
        return record(name, inc.createdAt, head);
      }
      return undefined;
    });
  }

  createDatabase(name: string, createdAt: string): Promise<DatabaseRecord> {
    return this.guarded(() =>
      this.track(async () => {
        // Names become part of partition and index keys, which DynamoDB limits in size.
        if (Buffer.byteLength(name) > 255) {
          throw new InvalidArgumentError(`database name "${name.slice(0, 40)}…" is longer than 255 bytes`, { name });
        }
        const dbId = newDatabaseId(name);
        try {
          await this.transact([
            {
              Put: {
                TableName: this.tableName,
                Item: { ...key(CATALOG_PK, databaseSk(name)), [A.name]: { S: name }, [A.createdAt]: { S: createdAt }, [A.db]: { S: dbId } },
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': A.pk },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...key(dbId, HEAD_SK), [A.head]: { N: '0' }, [A.name]: { S: name } },
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': A.pk },
              },
            },
          ]);
        } catch (error) {
          if (cancellationReasons(error)?.[0]?.Code === 'ConditionalCheckFailed') {
            throw new AlreadyExistsError(`database "${name}" already exists`, { name });
          }
          throw error;
        }
        this.known.set(name, { name, createdAt, dbId, head: 0, listedValues: new Set() });
        return record(name, createdAt, 0);
      }),
    );
  }

  deleteDatabase(name: string): Promise<boolean> {
    return this.guarded(() =>
      this.track(async () => {
        for (let attempt = 0; attempt < 5; attempt++) {
          const inc = await this.lookup(name);
          if (!inc) return false;
          try {
            // Catalog entry and head go together: from then on no server can reach or append to
            // the old partition. The trash entry remembers that its items still need removing.
            await this.transact([
              {
                Delete: {
                  TableName: this.tableName,
                  Key: key(CATALOG_PK, databaseSk(name)),
                  ConditionExpression: '#db = :db',
                  ExpressionAttributeNames: { '#db': A.db },
                  ExpressionAttributeValues: { ':db': { S: inc.dbId } },
                },
              },
              { Delete: { TableName: this.tableName, Key: key(inc.dbId, HEAD_SK) } },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...key(CATALOG_PK, trashSk(inc.dbId)), [A.db]: { S: inc.dbId }, [A.name]: { S: name } },
                },
              },
            ]);
          } catch (error) {
            // Deleted or re-created by someone else meanwhile: look again.
            if (cancellationReasons(error)?.[0]?.Code === 'ConditionalCheckFailed') continue;
            throw error;
          }
          this.known.delete(name);
          this.startCleanup(inc.dbId);
          return true;
        }
        throw new UnavailableError(`database "${name}" kept changing while it was being deleted; try again`, { name });
      }),
    );
  }

  appendTransaction(database: string, request: AppendRequest): Promise<AppendOutcome> {
    return this.guarded(() => {
      let writer = this.writers.get(database);
      if (!writer) this.writers.set(database, (writer = new SerialQueue()));
      return this.track(() => writer.run(() => this.append(database, request)));
    });
  }

  query(database: string, query: EventQuery): Promise<EventPage> {
    return this.guarded(async () => {
      const { inc, head } = await this.live(database);
      const from = Math.max(1, Math.ceil(query.fromRevision ?? 1));
      const to = Math.min(head, Math.floor(query.toRevision ?? head));
      const limit = Math.max(0, Math.floor(query.limit));
      if (!(from <= to)) return { events: [], hasMore: false };
      const filter: EventFilter = { selector: query.selector, fromTimeMs: query.fromTimeMs, toTimeMs: query.toTimeMs };
      const forward = query.direction !== 'backward';
      const plan = query.selector && to - from + 1 > this.directScanMaxRevisions && this.indexSettleMs !== Infinity ? indexPlan(query.selector) : undefined;
      if (!plan) return this.scanEvents(inc.dbId, from, to, forward, filter, limit);
      const revisions = await this.indexedRevisions(inc.dbId, plan, from, to, forward, filter, limit + 1);
      const page = revisions.slice(0, limit);
      return { events: await this.readEvents(inc, page), hasMore: revisions.length > limit };
    });
  }

  findByKeys(database: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
    return this.guarded(async () => {
      const { inc } = await this.live(database);
      return this.lookupKeys(inc.dbId, keys);
    });
  }

  readEvent(database: string, revision: number): Promise<RawEvent | undefined> {
    return this.guarded(async () => {
      const { inc, head } = await this.live(database);
      if (!Number.isSafeInteger(revision) || revision < 1 || revision > head) return undefined;
      const item = await this.getItem(inc.dbId, eventSk(revision), [A.json]);
      return item && { revision, json: item[A.json]!.S! };
    });
  }

  distinctValues(database: string, attr: SelectorAttr, prefix: string, limit: number): Promise<string[]> {
    return this.guarded(async () => {
      const { inc } = await this.live(database);
      const wanted = Math.max(0, Math.floor(limit));
      if (wanted === 0) return [];
      const skPrefix = valueSkPrefix(attr);
      const input: QueryCommandInput = {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
        ExpressionAttributeValues: { ':pk': { S: inc.dbId }, ':prefix': { S: skPrefix + prefix } },
        ProjectionExpression: '#sk',
        ConsistentRead: true,
      };
      // Sort keys come back in UTF-8 byte order, which is code point order.
      const values: string[] = [];
      for await (const item of this.pages(input, wanted)) {
        values.push(item[A.sk]!.S!.slice(skPrefix.length));
        if (values.length === wanted) break;
      }
      return values;
    });
  }

  // ---- blobs ----

  /**
   * Large blobs are written as chunks under a new generation id first, then published by putting
   * their manifest; readers only follow manifests, so they never see a half-written blob. The
   * manifest goes in a transaction with a check that the database's head still exists, so
   * nothing is published into a deleted database.
   */
  putBlob(database: string, blobKey: string, bytes: Uint8Array, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    return this.guarded(() =>
      this.track(async () => {
        assertBlobKey(blobKey);
        const { inc } = await this.live(database);
        const previous = options.ifAbsent ? undefined : await this.getItem(inc.dbId, blobSk(blobKey), [A.generation, A.chunks]);
        const generation = newBlobGeneration();
        const inline = bytes.byteLength <= BLOB_CHUNK_BYTES;
        const chunks = inline ? 0 : Math.ceil(bytes.byteLength / BLOB_CHUNK_BYTES);
        if (!inline) await this.writeChunks(inc.dbId, generation, bytes);
        const manifest: Item = {
          ...key(inc.dbId, blobSk(blobKey)),
          [A.size]: { N: String(bytes.byteLength) },
          [A.chunks]: { N: String(chunks) },
          [A.generation]: { S: generation },
          ...(inline ? { [A.data]: { B: Uint8Array.from(bytes) } } : {}),
        };
        try {
          await this.transact([
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: key(inc.dbId, HEAD_SK),
                ConditionExpression: 'attribute_exists(#pk)',
                ExpressionAttributeNames: { '#pk': A.pk },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: manifest,
                ...(options.ifAbsent ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } } : {}),
              },
            },
          ]);
        } catch (error) {
          if (chunks > 0) await this.deleteChunks(inc.dbId, generation, chunks).catch(() => undefined);
          const reasons = cancellationReasons(error);
          if (reasons?.[1]?.Code === 'ConditionalCheckFailed') return false;
          if (reasons?.[0]?.Code === 'ConditionalCheckFailed') throw notFound(database);
          throw error;
        }
        const replaced = previous && previous[A.generation]?.S !== generation ? num(previous[A.chunks]) : 0;
        if (replaced > 0) await this.deleteChunks(inc.dbId, previous![A.generation]!.S!, replaced);
        return true;
      }),
    );
  }

  getBlob(database: string, blobKey: string): Promise<Uint8Array | undefined> {
    return this.guarded(async () => {
      assertBlobKey(blobKey);
      const { inc } = await this.live(database);
      // A blob replaced between reading its manifest and its chunks is read again.
      for (let attempt = 0; attempt < 5; attempt++) {
        const manifest = await this.getItem(inc.dbId, blobSk(blobKey));
        if (!manifest) return undefined;
        const size = num(manifest[A.size]);
        const chunks = num(manifest[A.chunks]);
        if (chunks === 0) return Uint8Array.from(manifest[A.data]?.B ?? new Uint8Array(0));
        const generation = manifest[A.generation]!.S!;
        const out = new Uint8Array(size);
        let offset = 0;
        let found = 0;
        const input: QueryCommandInput = {
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
          ExpressionAttributeValues: { ':pk': { S: inc.dbId }, ':from': { S: chunkSk(generation, 0) }, ':to': { S: chunkSk(generation, chunks - 1) } },
          ConsistentRead: true,
        };
        for await (const item of this.pages(input, chunks)) {
          const part = item[A.data]?.B ?? new Uint8Array(0);
          if (offset + part.byteLength > size) break;
          out.set(part, offset);
          offset += part.byteLength;
          found++;
        }
        if (found === chunks && offset === size) return out;
      }
      throw new UnavailableError(`blob "${blobKey}" of database "${database}" kept changing while it was read; try again`);
    });
  }

  listBlobs(database: string, prefix: string): Promise<string[]> {
    return this.guarded(async () => {
      const { inc } = await this.live(database);
      const keys: string[] = [];
      for await (const item of this.pages(this.blobListInput(inc.dbId, prefix, [A.sk]), MAX_PAGE_ITEMS)) {
        keys.push(item[A.sk]!.S!.slice(BLOB_SK_PREFIX.length));
      }
      return keys;
    });
  }

  deleteBlobs(database: string, prefix: string): Promise<number> {
    return this.guarded(() =>
      this.track(async () => {
        const { inc } = await this.live(database);
        const manifests: Item[] = [];
        for await (const item of this.pages(this.blobListInput(inc.dbId, prefix, [A.sk]), MAX_PAGE_ITEMS)) manifests.push(item);
        let deleted = 0;
        for (const manifest of manifests) {
          // The deleted manifest names the chunks to remove, even if the blob was just replaced.
          const { Attributes: old } = await this.client.send(
            new DeleteItemCommand({ TableName: this.tableName, Key: key(inc.dbId, manifest[A.sk]!.S!), ReturnValues: 'ALL_OLD' }),
          );
          if (!old) continue;
          deleted++;
          const chunks = num(old[A.chunks]);
          if (chunks > 0) await this.deleteChunks(inc.dbId, old[A.generation]!.S!, chunks);
        }
        return deleted;
      }),
    );
  }

  private blobListInput(dbId: string, prefix: string, projection: string[]): QueryCommandInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': A.pk, ...Object.fromEntries(projection.map((a) => [`#${a}`, a])), '#sk': A.sk },
      ExpressionAttributeValues: { ':pk': { S: dbId }, ':prefix': { S: `${BLOB_SK_PREFIX}${prefix}` } },
      ProjectionExpression: projection.map((a) => `#${a}`).join(', '),
      ConsistentRead: true,
    };
  }

  private async writeChunks(dbId: string, generation: string, bytes: Uint8Array): Promise<void> {
    const chunks = Math.ceil(bytes.byteLength / BLOB_CHUNK_BYTES);
    for (let first = 0; first < chunks; first += CHUNKS_PER_BATCH) {
      const items: Item[] = [];
      for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_BATCH); i++) {
        items.push({ ...key(dbId, chunkSk(generation, i)), [A.data]: { B: bytes.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES) } });
      }
      await this.batchWrite(items.map((item) => ({ PutRequest: { Item: item } })));
    }
  }

  private async deleteChunks(dbId: string, generation: string, chunks: number): Promise<void> {
    const keys = Array.from({ length: chunks }, (_, i) => key(dbId, chunkSk(generation, i)));
    for (let i = 0; i < keys.length; i += BATCH_WRITE_ITEMS) await this.batchDelete(keys.slice(i, i + BATCH_WRITE_ITEMS));
  }

  // ---- appends ----

  private async append(name: string, request: AppendRequest): Promise<AppendOutcome> {
    let inc = this.known.get(name) ?? (await this.lookup(name));
    if (!inc) throw notFound(name);
    assertWithinLimits(inc.dbId, request.events, request.recordedtime);
    let head: number;
    if (inc.head === undefined || request.events.length === 0) ({ inc, head } = await this.live(name));
    else head = inc.head;

    const { guard, events } = request;
    // The guard has been verified for revisions (basis, checkedThrough].
    let checkedThrough = guard?.basis ?? 0;
    let lostRaces = 0;
    let conflicts = 0;
    for (;;) {
      if (guard && head > checkedThrough) {
        if (await this.guardHit(inc.dbId, guard, checkedThrough + 1, head)) return { kind: 'guard_failed', head };
        checkedThrough = head;
      }
      if (events.length === 0) return { kind: 'appended', firstRevision: head + 1, lastRevision: head };

      const committedAt = Date.now();
      const built = events.map((event, i) => eventItems(inc!.dbId, event, head + 1 + i, request.recordedtime, committedAt));
      const { listed, deferred } = this.newValues(inc, events, built);
      const actions: TransactWriteItem[] = [
        {
          Update: {
            TableName: this.tableName,
            Key: key(inc.dbId, HEAD_SK),
            UpdateExpression: 'SET #head = :next',
            ConditionExpression: '#head = :head',
            ExpressionAttributeNames: { '#head': A.head },
            ExpressionAttributeValues: { ':head': { N: String(head) }, ':next': { N: String(head + events.length) } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        // The head condition already rules out existing events; their own condition guards against bugs only.
        ...built.map(({ event }): TransactWriteItem => ({
          Put: { TableName: this.tableName, Item: event, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } },
        })),
        ...built.map(({ key: keyItem }): TransactWriteItem => ({
          Put: {
            TableName: this.tableName,
            Item: keyItem,
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': A.pk },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        })),
        ...listed.map((sk): TransactWriteItem => ({ Put: { TableName: this.tableName, Item: key(inc!.dbId, sk) } })),
      ];
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: actions, ClientRequestToken: randomUUID() }));
        inc.head = head + events.length;
        await this.listValues(inc, listed, deferred);
        return { kind: 'appended', firstRevision: head + 1, lastRevision: head + events.length };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;

        if (reasons.slice(1 + events.length, 1 + 2 * events.length).some((r) => r.Code === 'ConditionalCheckFailed')) {
          const existing = await this.lookupKeys(inc.dbId, events);
          if (existing.some((e) => e !== undefined)) return { kind: 'duplicates', existing };
        }

        const headReason = reasons[0];
        if (headReason?.Code === 'ConditionalCheckFailed') {
          const actual = num(headReason.Item?.[A.head]);
          if (Number.isNaN(actual)) {
            // The head is gone: the database was deleted, and perhaps created again.
            const previous = inc.dbId;
            ({ inc, head } = await this.live(name));
            if (inc.dbId === previous) throw new InternalError(`database "${name}" lost its head item`, { name });
            checkedThrough = guard?.basis ?? 0;
            continue;
          }
          head = actual;
          inc.head = actual;
          if (++lostRaces > MAX_LOST_RACES) {
            throw new UnavailableError(`appending to "${name}" lost to ${MAX_LOST_RACES} concurrent appends in a row; try again`, {
              database: name,
            });
          }
          // Others are winning repeatedly: spread the retries out a little.
          if (lostRaces > 3) await sleep(Math.random() * Math.min(50, lostRaces * 5));
          continue;
        }

        if (reasons.some((r) => RETRYABLE_REASONS.has(r.Code ?? ''))) {
          if (++conflicts > this.conflictRetries) {
            throw new UnavailableError(
              `DynamoDB kept cancelling the append to "${name}" (${describeReasons(reasons)}); gave up after ${this.conflictRetries} retries, try again`,
              { database: name, retries: this.conflictRetries },
            );
          }
          await sleep(this.backoff(conflicts));
          continue;
        }
        throw new InternalError(`DynamoDB cancelled the append to "${name}": ${describeReasons(reasons)}`, { database: name });
      }
    }
  }

  /** Whether an event in one of the guard's scopes lies within [from, to], read consistently. */
  private async guardHit(dbId: string, guard: AppendGuard, from: number, to: number): Promise<boolean> {
    if (from > to) return false;
    if (guard.scopes.some((scope) => scope === undefined)) return true; // revisions are dense: something is there
    if (guard.scopes.length === 0) return false;
    const filter: EventFilter = { selector: anyOf(guard.scopes as Selector[]) };
    const input = this.rangeInput(dbId, from, to, true, filter, [A.source, A.type, A.subject]);
    for await (const item of this.pages(input, 100)) {
      if (itemMatches(item, filter)) return true;
    }
    return false;
  }

  /**
   * Value items for the stream, type and subject values of these events not yet known to be
   * listed. They ride in the append's transaction while actions and bytes are spare, so a
   * committed event's values are listed with it; what does not fit is written right after.
   */
  private newValues(inc: Incarnation, events: readonly CloudEvent[], built: ReadonlyArray<{ event: Item; key: Item }>): { listed: string[]; deferred: string[] } {
    const fresh = new Set<string>();
    for (const event of events) {
      for (const attr of SELECTOR_ATTRS) {
        const value = attrValue(event, attr);
        if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_LISTED_VALUE_BYTES) continue;
        const sk = valueSkPrefix(attr) + value;
        if (!inc.listedValues.has(sk)) fresh.add(sk);
      }
    }
    if (fresh.size === 0) return { listed: [], deferred: [] };
    let actionsLeft = MAX_TRANSACTION_ACTIONS - 1 - 2 * events.length;
    let bytesLeft = TRANSACTION_ITEMS_BUDGET_BYTES - built.reduce((n, b) => n + itemBytes(b.event) + itemBytes(b.key), 0);
    const listed: string[] = [];
    const deferred: string[] = [];
    for (const sk of fresh) {
      const bytes = itemBytes(key(inc.dbId, sk));
      if (actionsLeft > 0 && bytesLeft >= bytes) {
        listed.push(sk);
        actionsLeft--;
        bytesLeft -= bytes;
      } else {
        deferred.push(sk);
      }
    }
    return { listed, deferred };
  }

  /** Records values as listed, writing first those that did not fit the append's transaction. */
  private async listValues(inc: Incarnation, listed: string[], deferred: string[]): Promise<void> {
    try {
      for (let i = 0; i < deferred.length; i += BATCH_WRITE_ITEMS) {
        await this.batchWrite(deferred.slice(i, i + BATCH_WRITE_ITEMS).map((sk) => ({ PutRequest: { Item: key(inc.dbId, sk) } })));
      }
    } catch (error) {
      // The events are committed; a value missing from type-ahead is not worth failing the append.
      process.emitWarning(`DynamoDB: could not list new values of database "${inc.name}" for type-ahead: ${(error as Error).message}`);
      deferred = [];
    }
    if (inc.listedValues.size > MAX_CACHED_VALUES) inc.listedValues.clear();
    for (const sk of listed) inc.listedValues.add(sk);
    for (const sk of deferred) inc.listedValues.add(sk);
  }

  /** Exponential, half of it random so that writers that collided once do not collide again. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_RETRY_DELAY_MS, this.retryBaseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  /** Runs a transaction, retrying (bounded) while DynamoDB cancels it for conflicts or throttling. */
  private async transact(actions: TransactWriteItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: actions, ClientRequestToken: randomUUID() }));
        return;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons?.some((r) => RETRYABLE_REASONS.has(r.Code ?? '')) || reasons.some((r) => r.Code === 'ConditionalCheckFailed')) throw error;
        if (attempt > this.conflictRetries) {
          throw new UnavailableError(`DynamoDB kept cancelling a transaction (${describeReasons(reasons)}); try again`);
        }
        await sleep(this.backoff(attempt));
      }
    }
  }

  // ---- reads ----

  private async scanEvents(dbId: string, from: number, to: number, forward: boolean, filter: EventFilter, limit: number): Promise<EventPage> {
    const events: RawEvent[] = [];
    let hasMore = false;
    const input = this.rangeInput(dbId, from, to, forward, filter, [A.revision, A.json, A.source, A.type, A.subject, A.effectiveTime]);
    for await (const item of this.pages(input, limit + 1)) {
      if (!itemMatches(item, filter)) continue;
      if (events.length === limit) {
        hasMore = true;
        break;
      }
      events.push({ revision: num(item[A.revision]), json: item[A.json]!.S! });
    }
    return { events, hasMore };
  }

  /**
   * Up to `want` matching revisions in query order: the settled part of the range from the GSIs,
   * the recent tail from the base table.
   */
  private async indexedRevisions(
    dbId: string,
    plan: IndexLookup[],
    from: number,
    to: number,
    forward: boolean,
    filter: EventFilter,
    want: number,
  ): Promise<number[]> {
    // Walk back from the end of the range until an event old enough to be in the GSIs; every
    // event before it committed earlier still. Matches on the way are kept, newest first.
    let settledThrough = to;
    const tail: number[] = [];
    if (this.indexSettleMs > 0) {
      const settledBefore = Date.now() - this.indexSettleMs;
      settledThrough = from - 1;
      const input = this.rangeInput(dbId, from, to, false, undefined, [A.revision, A.committedAt, A.source, A.type, A.subject, A.effectiveTime]);
      for await (const item of this.pages(input, 16)) {
        const revision = num(item[A.revision]);
        if (num(item[A.committedAt]) < settledBefore) {
          settledThrough = revision;
          break;
        }
        if (itemMatches(item, filter)) tail.push(revision);
        // Backward, the newest matches come first: enough of them answers the query alone.
        if (!forward && tail.length === want) return tail;
      }
    }

    const revisions: number[] = [];
    const take = (revision: number): boolean => revisions.push(revision) === want;
    if (forward) {
      if (settledThrough >= from) {
        for await (const revision of this.indexRevisions(dbId, plan, from, settledThrough, true, filter, want)) if (take(revision)) return revisions;
      }
      for (let i = tail.length - 1; i >= 0; i--) if (take(tail[i]!)) return revisions;
    } else {
      for (const revision of tail) if (take(revision)) return revisions;
      if (settledThrough >= from) {
        for await (const revision of this.indexRevisions(dbId, plan, from, settledThrough, false, filter, want)) if (take(revision)) return revisions;
      }
    }
    return revisions;
  }

  /** Matching revisions within [from, to] from the GSIs, merged in order without repeats. */
  private async *indexRevisions(
    dbId: string,
    plan: IndexLookup[],
    from: number,
    to: number,
    forward: boolean,
    filter: EventFilter,
    want: number,
  ): AsyncGenerator<number> {
    const streams = plan.map((lookup) => this.indexStream(dbId, lookup, from, to, forward, filter, want));
    try {
      const heads = await Promise.all(streams.map((s) => s.next()));
      let last: number | undefined;
      for (;;) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i]!;
          if (h.done) continue;
          if (best < 0 || (forward ? h.value < (heads[best]!.value as number) : h.value > (heads[best]!.value as number))) best = i;
        }
        if (best < 0) return;
        const revision = heads[best]!.value as number;
        heads[best] = await streams[best]!.next();
        if (revision !== last) {
          last = revision;
          yield revision;
        }
      }
    } finally {
      await Promise.all(streams.map((s) => s.return(undefined)));
    }
  }

  private async *indexStream(
    dbId: string,
    lookup: IndexLookup,
    from: number,
    to: number,
    forward: boolean,
    filter: EventFilter,
    want: number,
  ): AsyncGenerator<number> {
    const index = INDEXES[lookup.attr];
    const expression = filterExpression(filter);
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: index.indexName,
      KeyConditionExpression: '#xk = :xk AND #rev BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#xk': index.keyAttribute, '#rev': A.revision, ...expression?.names },
      ExpressionAttributeValues: {
        ':xk': { S: indexKey(dbId, lookup.value) },
        ':from': { N: String(from) },
        ':to': { N: String(to) },
        ...expression?.values,
      },
      ...(expression ? { FilterExpression: expression.expression } : {}),
      ScanIndexForward: forward,
    };
    for await (const item of this.pages(input, want)) {
      // The key of another incarnation could only match by a hash collision; the check is free.
      if (item[A.pk]?.S !== dbId || !itemMatches(item, filter)) continue;
      yield num(item[A.revision]);
    }
  }

  private rangeInput(dbId: string, from: number, to: number, forward: boolean, filter: EventFilter | undefined, projection: string[]): QueryCommandInput {
    const expression = filter && filterExpression(filter);
    const names: Record<string, string> = { '#pk': A.pk, '#sk': A.sk, ...expression?.names };
    for (const attribute of projection) names[`#${attribute}`] = attribute;
    return {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':pk': { S: dbId }, ':from': { S: eventSk(from) }, ':to': { S: eventSk(to) }, ...expression?.values },
      ...(expression ? { FilterExpression: expression.expression } : {}),
      ProjectionExpression: projection.map((attribute) => `#${attribute}`).join(', '),
      ScanIndexForward: forward,
      ConsistentRead: true,
    };
  }

  /**
   * Items of a query, fetched page by page only as far as the caller reads. Pages start near the
   * number of items wanted and grow when a filter turns out to discard many.
   */
  private async *pages(input: QueryCommandInput, firstPageItems: number): AsyncGenerator<Item> {
    let limit = Math.max(1, Math.min(firstPageItems, MAX_PAGE_ITEMS));
    let start: Item | undefined;
    do {
      const out = await this.client.send(new QueryCommand({ ...input, Limit: limit, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) yield item;
      start = out.LastEvaluatedKey;
      limit = Math.min(limit * 4, MAX_PAGE_ITEMS);
    } while (start);
  }

  /** The events at the given revisions, in that order, read consistently. */
  private async readEvents(inc: Incarnation, revisions: number[]): Promise<RawEvent[]> {
    if (revisions.length === 0) return [];
    const items = await this.batchGet(revisions.map((r) => key(inc.dbId, eventSk(r))), [A.revision, A.json]);
    const byRevision = new Map(items.map((item) => [num(item[A.revision]), item[A.json]!.S!]));
    return revisions.map((revision) => {
      const json = byRevision.get(revision);
      if (json === undefined) {
        // Indexed but gone: the database was deleted while this query ran.
        throw notFound(inc.name);
      }
      return { revision, json };
    });
  }

  /** Stored events by source + id, via their uniqueness items. */
  private async lookupKeys(dbId: string, keys: ReadonlyArray<{ source: string; id: string }>): Promise<Array<RawEvent | undefined>> {
    if (keys.length === 0) return [];
    const sks = keys.map((k) => eventKeySk(k.source, k.id));
    const keyItems = await this.batchGet([...new Set(sks)].map((sk) => key(dbId, sk)), [A.sk, A.revision]);
    const revisionOf = new Map(keyItems.map((item) => [item[A.sk]!.S!, num(item[A.revision])]));
    const revisions = [...new Set(revisionOf.values())];
    const eventItemsFound = await this.batchGet(revisions.map((r) => key(dbId, eventSk(r))), [A.revision, A.json]);
    const jsonOf = new Map(eventItemsFound.map((item) => [num(item[A.revision]), item[A.json]!.S!]));
    return keys.map((k, i) => {
      const revision = revisionOf.get(sks[i]!);
      const json = revision === undefined ? undefined : jsonOf.get(revision);
      if (revision === undefined || json === undefined) return undefined;
      const stored = JSON.parse(json) as CloudEvent;
      return stored.source === k.source && stored.id === k.id ? { revision, json } : undefined;
    });
  }

  /** Consistent BatchGetItem over any number of keys; the order of the result is unspecified. */
  private async batchGet(keys: Item[], projection: string[]): Promise<Item[]> {
    const names = Object.fromEntries(projection.map((attribute) => [`#${attribute}`, attribute]));
    const chunks: Item[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) chunks.push(keys.slice(i, i + BATCH_GET_KEYS));
    const results = await Promise.all(
      chunks.map(async (chunk) => {
        const found: Item[] = [];
        let pending: Item[] = chunk;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > BATCH_RETRIES) throw new UnavailableError('DynamoDB kept leaving reads unprocessed; try again');
          if (attempt > 0) await sleep(this.backoff(attempt));
          const out = await this.client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: pending,
                  ConsistentRead: true,
                  ProjectionExpression: Object.keys(names).join(', '),
                  ExpressionAttributeNames: names,
                },
              },
            }),
          );
          found.push(...(out.Responses?.[this.tableName] ?? []));
          pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        }
        return found;
      }),
    );
    return results.flat();
  }

  private async getItem(pk: string, sk: string, projection?: string[]): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key(pk, sk),
        ConsistentRead: true,
        ...(projection
          ? {
              ProjectionExpression: projection.map((attribute) => `#${attribute}`).join(', '),
              ExpressionAttributeNames: Object.fromEntries(projection.map((attribute) => [`#${attribute}`, attribute])),
            }
          : {}),
      }),
    );
    return out.Item;
  }

  // ---- database incarnations ----

  /** The current incarnation of a name, read from the catalog. */
  private async lookup(name: string): Promise<Incarnation | undefined> {
    const item = await this.getItem(CATALOG_PK, databaseSk(name));
    if (!item) {
      this.known.delete(name);
      return undefined;
    }
    const dbId = item[A.db]!.S!;
    const cached = this.known.get(name);
    if (cached?.dbId === dbId) return cached;
    const inc: Incarnation = { name, createdAt: item[A.createdAt]!.S!, dbId, listedValues: new Set() };
    this.known.set(name, inc);
    return inc;
  }

  private async readHead(dbId: string): Promise<number | undefined> {
    const item = await this.getItem(dbId, HEAD_SK, [A.head]);
    return item ? num(item[A.head]) : undefined;
  }

  /**
   * The live incarnation and its head, read consistently. Reading the head also proves the
   * incarnation was not deleted: its head item goes in the same transaction as its catalog entry.
   */
  private async live(name: string): Promise<{ inc: Incarnation; head: number }> {
    let inc = this.known.get(name) ?? (await this.lookup(name));
    for (let attempt = 0; inc && attempt < 3; attempt++) {
      const head = await this.readHead(inc.dbId);
      if (head !== undefined) {
        inc.head = head;
        return { inc, head };
      }
      inc = await this.lookup(name);
    }
    throw notFound(name);
  }

  private async resumeCleanups(): Promise<void> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
      ExpressionAttributeValues: { ':pk': { S: CATALOG_PK }, ':prefix': { S: TRASH_SK_PREFIX } },
      ConsistentRead: true,
    };
    for await (const item of this.pages(input, MAX_PAGE_ITEMS)) {
      if (this.state !== 'open') return;
      this.startCleanup(item[A.db]!.S!);
    }
  }

  private startCleanup(dbId: string): void {
    if (this.cleanups.has(dbId)) return;
    const done = this.removePartition(dbId)
      .catch((error: unknown) =>
        process.emitWarning(`DynamoDB: removing the items of deleted database ${dbId} stopped (it resumes on the next start): ${(error as Error).message}`),
      )
      .finally(() => this.cleanups.delete(dbId));
    this.cleanups.set(dbId, done);
  }

  /**
   * Deletes every item of a deleted incarnation, then its trash entry. Nothing writes to the
   * partition any more, so reading it again from the start until it is empty finds everything.
   */
  private async removePartition(dbId: string): Promise<void> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
      ExpressionAttributeValues: { ':pk': { S: dbId } },
      ProjectionExpression: '#pk, #sk',
      ConsistentRead: true,
      Limit: MAX_PAGE_ITEMS,
    };
    for (;;) {
      if (this.state !== 'open') return;
      const { Items: items = [] } = await this.client.send(new QueryCommand(input));
      if (items.length === 0) break;
      for (let i = 0; i < items.length; i += BATCH_WRITE_ITEMS) {
        if (this.state !== 'open') return;
        await this.batchDelete(items.slice(i, i + BATCH_WRITE_ITEMS));
      }
    }
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key(CATALOG_PK, trashSk(dbId)) }));
  }

  private batchDelete(keys: Item[]): Promise<void> {
    return this.batchWrite(keys.map((k) => ({ DeleteRequest: { Key: k } })));
  }

  /** One BatchWriteItem (at most 25 requests), retrying whatever DynamoDB leaves unprocessed. */
  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > BATCH_RETRIES) throw new UnavailableError('DynamoDB kept leaving writes unprocessed; try again');
      if (attempt > 0) await sleep(this.backoff(attempt));
      const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }));
      pending = out.UnprocessedItems?.[this.tableName] ?? [];
    }
  }

  // ---- plumbing ----

  private assertOpen(): void {
    if (this.state !== 'open') throw new UnavailableError(this.state === 'closed' ? 'the store is closed' : 'the store is not open');
  }

  /** Runs an operation on the open store and turns DynamoDB's errors into Factum's. */
  private async guarded<T>(operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await operation();
    } catch (error) {
      throw this.translate(error);
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

  private translate(error: unknown): Error {
    if (error instanceof FactumError || !(error instanceof Error)) return error as Error;
    const e = error as Error & { $metadata?: { httpStatusCode?: number }; $fault?: string; $retryable?: unknown; code?: string };
    if (e.$metadata) {
      if (e.name === 'ResourceNotFoundException') {
        return new UnavailableError(`DynamoDB table "${this.tableName}" is not available: ${e.message}`, { table: this.tableName });
      }
      if (e.name === 'ValidationException' && /size/i.test(e.message)) {
        return new PayloadTooLargeError(`DynamoDB refused the write as too large: ${e.message}`);
      }
      if (
        e.$fault === 'server' ||
        e.$retryable ||
        /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|LimitExceeded/.test(e.name) ||
        e.$metadata.httpStatusCode === undefined
      ) {
        return new UnavailableError(`DynamoDB is unavailable: ${e.name}: ${e.message}`, { cause: e.name });
      }
      return new InternalError(`DynamoDB refused a request: ${e.name}: ${e.message}`, { cause: e.name });
    }
    if (e.name === 'CredentialsProviderError' || e.name === 'TimeoutError' || e.name === 'AbortError' || NETWORK_ERROR_CODES.has(e.code ?? '')) {
      return new UnavailableError(`DynamoDB cannot be reached: ${e.message}`, { cause: e.name });
    }
    return e;
  }
}

function key(pk: string, sk: string): Item {
  return { [A.pk]: { S: pk }, [A.sk]: { S: sk } };
}

function record(name: string, createdAt: string, head: number): DatabaseRecord {
  return { name, created_at: createdAt, latest_revision: head, event_count: head };
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`database "${name}" does not exist`, { name });
}

function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  const e = error as { name?: string; CancellationReasons?: CancellationReason[] };
  return e?.name === 'TransactionCanceledException' ? (e.CancellationReasons ?? []) : undefined;
}

function describeReasons(reasons: CancellationReason[]): string {
  return reasons
    .map((r, i) => (r.Code && r.Code !== 'None' ? `action ${i}: ${r.Code}${r.Message ? ` (${r.Message})` : ''}` : undefined))
    .filter((s) => s !== undefined)
    .join(', ') || 'no reason given';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
