/**
 * The clients, the requests the adapter makes over them, and how DynamoDB's errors become
 * Factum's. Retries of what DynamoDB turns away for the moment (cancelled transactions, batch
 * items left unprocessed) live here, so every operation gets them the same way.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, type CancellationReason, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  type BatchWriteCommandInput,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { FactumError, InternalError, PayloadTooLargeError, UnavailableError, type ErrorDetails } from '../../core/errors.ts';
import { done, tryAgain, withRetries, type RetryPolicy } from '../../core/retry.ts';
import type { TransactionOutcome } from '../types.ts';
import type { Settings, StoreContext } from './context.ts';
import { itemKey, type Item } from './items.ts';
import { A } from './keys.ts';

export type TransactAction = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

export const MAX_PAGE_ITEMS = 1000;
export const BATCH_WRITE_ITEMS = 25;
const BATCH_GET_KEYS = 100;
/** Attempts after the first at a batch whose items DynamoDB leaves unprocessed. */
const BATCH_RETRIES = 10;
/** Reasons DynamoDB gives for cancelling a transaction that may pass when tried again. */
const RETRYABLE_REASONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);
/** Names of the errors DynamoDB answers a request with when it is over capacity. */
const THROTTLED_ERRORS = /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/;
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** How long the client waits on DynamoDB: each bound turns a silent server into an error. */
export interface ClientTimeouts {
  /** Establishing a connection. */
  connectTimeoutMs: number;
  /** One HTTP attempt, from sending the request to its answer. */
  requestTimeoutMs: number;
  /** Attempts per request (the SDK's own retries of throttling, 5xx and timed-out attempts). */
  requestAttempts: number;
}

export type ClientOptions = Pick<DynamoDBClientConfig, 'endpoint' | 'region' | 'credentials'>;

/**
 * A low-level client that never waits forever. The Node HTTP handler of the pinned SDK only
 * logs a warning when a request outlives `requestTimeout` unless `throwOnRequestTimeout` is set;
 * with it, the attempt is destroyed and fails with a TimeoutError, which the SDK retries.
 */
export function buildClient(options: ClientOptions, timeouts: ClientTimeouts): DynamoDBClient {
  return new DynamoDBClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: timeouts.requestAttempts,
    requestHandler: { connectionTimeout: timeouts.connectTimeoutMs, requestTimeout: timeouts.requestTimeoutMs, throwOnRequestTimeout: true },
  });
}

/**
 * A document client over the low-level client. Items keep the layout other servers read:
 * strings are S, numbers N and byte arrays B. Undefined values are not dropped but refused, so
 * an attribute left out by mistake fails loudly.
 */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  // Every stored number is a revision, a count, a size or epoch milliseconds: all safe integers.
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: false }, unmarshallOptions: { wrapNumbers: false } });
}

/**
 * The context of one store operation: every request it sends is abandoned once the operation
 * has waited `timeoutMs` in all, and fails with UNAVAILABLE. The per-attempt timeouts bound one
 * request; this bounds the operation, retries and follow-up requests included.
 */
export function withDeadline(ctx: StoreContext, timeoutMs: number): StoreContext {
  const deadline = Date.now() + timeoutMs;
  // Paginators insist on a DynamoDBDocumentClient; an object whose prototype is the real one is one.
  const doc = Object.create(ctx.doc) as DynamoDBDocumentClient;
  const send = (command: Parameters<DynamoDBDocumentClient['send']>[0], options?: { abortSignal?: AbortSignal }) => {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(new UnavailableError(`DynamoDB did not answer within ${timeoutMs} ms`, { timeout_ms: timeoutMs }));
    return ctx.doc.send(command, { abortSignal: AbortSignal.timeout(left), ...options });
  };
  Object.defineProperty(doc, 'send', { value: send });
  return { ...ctx, doc };
}

/** Retries of a transaction DynamoDB cancelled for conflicts or throttling. */
function cancellationPolicy(settings: Settings): RetryPolicy {
  return { maxAttempts: settings.conflictRetries + 1, baseDelayMs: settings.retryBaseDelayMs };
}

function batchPolicy(settings: Settings): RetryPolicy {
  return { maxAttempts: BATCH_RETRIES + 1, baseDelayMs: settings.retryBaseDelayMs };
}

/** ProjectionExpression and the names it uses, one placeholder per attribute. */
export function projection(attributes: readonly string[]): { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> } {
  return {
    ProjectionExpression: attributes.map((attribute) => `#${attribute}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(attributes.map((attribute) => [`#${attribute}`, attribute])),
  };
}

/** A consistent query of the items of partition `pk` whose sort keys start with `skPrefix`. */
export function prefixQuery(ctx: StoreContext, pk: string, skPrefix: string, attributes?: readonly string[]): QueryCommandInput {
  const projected = attributes && projection(attributes);
  return {
    TableName: ctx.tableName,
    KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
    ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk, ...projected?.ExpressionAttributeNames },
    ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
    ...(projected ? { ProjectionExpression: projected.ProjectionExpression } : {}),
    ConsistentRead: true,
  };
}

export async function getItem(ctx: StoreContext, pk: string, sk: string, attributes?: readonly string[]): Promise<Item | undefined> {
  const out = await ctx.doc.send(
    new GetCommand({ TableName: ctx.tableName, Key: itemKey(pk, sk), ConsistentRead: true, ...(attributes ? projection(attributes) : {}) }),
  );
  return out.Item as Item | undefined;
}

/**
 * Items of a query, fetched page by page only as far as the caller reads. Pages start near the
 * number of items wanted and grow when a filter turns out to discard many.
 */
export async function* queryItems(ctx: StoreContext, input: QueryCommandInput, firstPageItems: number): AsyncGenerator<Item> {
  let pageItems = Math.max(1, Math.min(firstPageItems, MAX_PAGE_ITEMS));
  const withGrowingPages = (command: { input: object }) => {
    const sized = new QueryCommand({ ...(command.input as QueryCommandInput), Limit: pageItems });
    pageItems = Math.min(pageItems * 4, MAX_PAGE_ITEMS);
    return sized;
  };
  for await (const page of paginateQuery({ client: ctx.doc, withCommand: withGrowingPages }, { ...input })) {
    for (const item of page.Items ?? []) yield item as Item;
  }
}

/** Consistent BatchGetItem over any number of keys; the order of the result is unspecified. */
export async function batchGet(ctx: StoreContext, keys: Item[], attributes: readonly string[]): Promise<Item[]> {
  const requests: Array<Promise<Item[]>> = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) requests.push(batchGetRequest(ctx, keys.slice(i, i + BATCH_GET_KEYS), attributes));
  return (await Promise.all(requests)).flat();
}

/** One BatchGetItem (at most 100 keys), asking again for whatever DynamoDB leaves unprocessed. */
function batchGetRequest(ctx: StoreContext, keys: Item[], attributes: readonly string[]): Promise<Item[]> {
  const found: Item[] = [];
  let pending = keys;
  return withRetries(batchPolicy(ctx.settings), { what: 'a batch read', why: 'DynamoDB kept leaving reads unprocessed' }, async () => {
    const out = await ctx.doc.send(
      new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: pending, ConsistentRead: true, ...projection(attributes) } } }),
    );
    found.push(...((out.Responses?.[ctx.tableName] ?? []) as Item[]));
    pending = (out.UnprocessedKeys?.[ctx.tableName]?.Keys ?? []) as Item[];
    return pending.length === 0 ? done(found) : tryAgain;
  });
}

/** One BatchWriteItem (at most 25 requests), retrying whatever DynamoDB leaves unprocessed. */
export async function batchWrite(ctx: StoreContext, requests: WriteRequest[]): Promise<void> {
  let pending = requests;
  if (pending.length === 0) return;
  await withRetries(batchPolicy(ctx.settings), { what: 'a batch write', why: 'DynamoDB kept leaving writes unprocessed' }, async () => {
    const out = await ctx.doc.send(new BatchWriteCommand({ RequestItems: { [ctx.tableName]: pending } }));
    pending = out.UnprocessedItems?.[ctx.tableName] ?? [];
    return pending.length === 0 ? done(undefined) : tryAgain;
  });
}

/** Deletes items by key, 25 to a request, one request after the other. */
export async function deleteKeys(ctx: StoreContext, keys: Item[]): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH_WRITE_ITEMS) {
    await batchWrite(ctx, keys.slice(i, i + BATCH_WRITE_ITEMS).map((key) => ({ DeleteRequest: { Key: key } })));
  }
}

/**
 * Runs a transaction, sending it again (bounded, with backoff) while DynamoDB cancels it for
 * conflicts or throttling only. Any other failure, a failed condition among them, is thrown for
 * the caller to read with `cancellationReasons`.
 */
export async function transact(ctx: StoreContext, actions: TransactAction[], what: string, details?: ErrorDetails): Promise<void> {
  // Updated with each cancellation, so that running out of attempts names the latest reasons.
  const exhausted = { what, why: 'DynamoDB kept cancelling the transaction', details };
  await withRetries(cancellationPolicy(ctx.settings), exhausted, async () => {
    try {
      await ctx.doc.send(new TransactWriteCommand({ TransactItems: actions, ClientRequestToken: randomUUID() }));
      ctx.observer?.transactionAttempted?.('committed');
      return done(undefined);
    } catch (error) {
      const reasons = cancellationReasons(error);
      ctx.observer?.transactionAttempted?.(transactionOutcome(error, reasons));
      if (!reasons || !isRetryable(reasons) || reasons.some((r) => r.Code === 'ConditionalCheckFailed')) throw error;
      exhausted.why = `DynamoDB kept cancelling the transaction (${describeReasons(reasons)})`;
      return tryAgain;
    }
  });
}

/**
 * The reasons of a cancelled transaction, one per action, or undefined for any other error.
 * Their items are raw attribute values: the document client unmarshalls responses, not errors.
 */
export function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  const e = error as { name?: string; CancellationReasons?: CancellationReason[] };
  return e?.name === 'TransactionCanceledException' ? (e.CancellationReasons ?? []) : undefined;
}

/** What a failed TransactWriteItems was, for metrics: the first reason that explains it. */
function transactionOutcome(error: unknown, reasons: CancellationReason[] | undefined): TransactionOutcome {
  if (!reasons) return THROTTLED_ERRORS.test((error as Error)?.name ?? '') ? 'throttled' : 'error';
  const codes = new Set(reasons.map((r) => r.Code));
  if (codes.has('ConditionalCheckFailed')) return 'condition_failed';
  if (codes.has('TransactionConflict')) return 'conflict';
  if (codes.has('ThrottlingError') || codes.has('ProvisionedThroughputExceeded')) return 'throttled';
  return 'error';
}

export function isRetryable(reasons: CancellationReason[]): boolean {
  return reasons.some((r) => RETRYABLE_REASONS.has(r.Code ?? ''));
}

export function describeReasons(reasons: CancellationReason[]): string {
  return (
    reasons
      .map((r, i) => (r.Code && r.Code !== 'None' ? `action ${i}: ${r.Code}${r.Message ? ` (${r.Message})` : ''}` : undefined))
      .filter((s) => s !== undefined)
      .join(', ') || 'no reason given'
  );
}

/** DynamoDB's errors as Factum's; errors that are Factum's already, or not errors, pass as they are. */
export function translateError(error: unknown, tableName: string): Error {
  if (error instanceof FactumError || !(error instanceof Error)) return error as Error;
  const e = error as Error & { $metadata?: { httpStatusCode?: number }; $fault?: string; $retryable?: unknown; code?: string };
  if (e.$metadata) {
    if (e.name === 'ResourceNotFoundException') {
      return new UnavailableError(`DynamoDB table "${tableName}" is not available: ${e.message}`, { table: tableName });
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
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new UnavailableError(`DynamoDB did not answer in time: ${e.message}`, { cause: e.name });
  }
  if (e.name === 'CredentialsProviderError' || NETWORK_ERROR_CODES.has(e.code ?? '')) {
    return new UnavailableError(`DynamoDB cannot be reached: ${e.message}`, { cause: e.name });
  }
  return e;
}
