/**
 * Databases and their incarnations. The catalog entry of a name points to the partition of its
 * current incarnation; creating and deleting a database changes the entry and the head item of
 * that partition in one transaction, so a head that exists proves its incarnation is live.
 */
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../core/errors.ts';
import { done, tryAgain, withRetries } from '../../core/retry.ts';
import type { DatabaseRecord } from '../types.ts';
import { batchGet, cancellationReasons, getItem, MAX_PAGE_ITEMS, prefixQuery, queryItems, transact } from './client.ts';
import type { Incarnation, StoreContext } from './context.ts';
import { itemKey, num, type Item } from './items.ts';
import { A, CATALOG_PK, DATABASE_SK_PREFIX, HEAD_SK, databaseSk, newDatabaseId, trashSk } from './keys.ts';

/** Reads of a head that vanished under its catalog entry before the name counts as absent. */
const LIVE_READS = 3;
/** Deletions lost to another server changing the name meanwhile, before giving up. */
const DELETE_ATTEMPTS = 5;

export interface Live {
  inc: Incarnation;
  head: number;
  /** The head item's `lt`: the latest-value items account for every event up to it. */
  latestThrough: number;
}

export function notFound(name: string): NotFoundError {
  return new NotFoundError(`database "${name}" does not exist`, { name });
}

function record(name: string, createdAt: string, head: number): DatabaseRecord {
  return { name, created_at: createdAt, latest_revision: head, event_count: head };
}

export async function listDatabases(ctx: StoreContext): Promise<DatabaseRecord[]> {
  const entries: Item[] = [];
  for await (const item of queryItems(ctx, prefixQuery(ctx, CATALOG_PK, DATABASE_SK_PREFIX), MAX_PAGE_ITEMS)) entries.push(item);
  const heads = await batchGet(ctx, entries.map((e) => itemKey(e[A.db] as string, HEAD_SK)), [A.pk, A.head]);
  const headOf = new Map(heads.map((h) => [h[A.pk] as string, num(h[A.head])]));
  const records: DatabaseRecord[] = [];
  for (const entry of entries) {
    const head = headOf.get(entry[A.db] as string);
    // No head: deleted between the two reads.
    if (head !== undefined) records.push(record(entry[A.name] as string, entry[A.createdAt] as string, head));
  }
  return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One consistent read of the head once the incarnation is known: a live head proves it current. */
export async function getDatabase(ctx: StoreContext, name: string): Promise<DatabaseRecord | undefined> {
  const found = await readLive(ctx, name, ctx.known.get(name));
  return found && record(name, found.inc.createdAt, found.head);
}

/** The live incarnation of a name and its head, read consistently; the cached one is tried first. */
export async function live(ctx: StoreContext, name: string): Promise<Live> {
  const found = await readLive(ctx, name, ctx.known.get(name));
  if (!found) throw notFound(name);
  return found;
}

/**
 * Reads the head of the name's incarnation, looking the incarnation up again while its head has
 * vanished (deleted, perhaps re-created, since the catalog read). A name whose head keeps
 * vanishing is taken for deleted, as a read right after the deletion would find it.
 */
function readLive(ctx: StoreContext, name: string, cached?: Incarnation): Promise<Live | undefined> {
  return withRetries({ maxAttempts: LIVE_READS }, { what: `reading database "${name}"`, why: 'its head kept vanishing' }, async (attempt) => {
    const inc = attempt === 1 && cached ? cached : await lookup(ctx, name);
    if (!inc) return done(undefined);
    const state = await readHead(ctx, inc.dbId);
    if (state !== undefined) {
      // Both only grow: a read that started before a commit must not wind them back.
      inc.head = Math.max(inc.head ?? 0, state.head);
      inc.latestThrough = Math.max(inc.latestThrough ?? -1, state.latestThrough);
      return done({ inc, ...state });
    }
    return attempt < LIVE_READS ? tryAgain : done(undefined);
  });
}

/** The current incarnation of a name, read from the catalog. */
export async function lookup(ctx: StoreContext, name: string): Promise<Incarnation | undefined> {
  const item = await getItem(ctx, CATALOG_PK, databaseSk(name));
  if (!item) {
    ctx.known.delete(name);
    return undefined;
  }
  const dbId = item[A.db] as string;
  const cached = ctx.known.get(name);
  if (cached?.dbId === dbId) return cached;
  const inc: Incarnation = { name, createdAt: item[A.createdAt] as string, dbId };
  ctx.known.set(name, inc);
  return inc;
}

/** The head item's two numbers; undefined when it is gone (the incarnation was deleted). */
export async function readHead(ctx: StoreContext, dbId: string): Promise<{ head: number; latestThrough: number } | undefined> {
  const item = await getItem(ctx, dbId, HEAD_SK, [A.head, A.latestThrough]);
  return item && headState(item);
}

/**
 * The numbers of a head item as read. Heads written before latest-value items existed have no
 * `lt`: -1 says that not even revision 0 is accounted for, so a catch-up runs (and sets it)
 * before any append may update the items in its own transaction.
 */
export function headState(item: Item): { head: number; latestThrough: number } {
  const latestThrough = item[A.latestThrough];
  return { head: num(item[A.head]), latestThrough: typeof latestThrough === 'number' ? latestThrough : -1 };
}

export async function createDatabase(ctx: StoreContext, name: string, createdAt: string): Promise<DatabaseRecord> {
  // Names become part of partition and index keys, which DynamoDB limits in size.
  if (Buffer.byteLength(name) > 255) {
    throw new InvalidArgumentError(`database name "${name.slice(0, 40)}…" is longer than 255 bytes`, { name });
  }
  const dbId = newDatabaseId(name);
  const absent = { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } };
  try {
    await transact(
      ctx,
      [
        { Put: { TableName: ctx.tableName, Item: { ...itemKey(CATALOG_PK, databaseSk(name)), [A.name]: name, [A.createdAt]: createdAt, [A.db]: dbId }, ...absent } },
        { Put: { TableName: ctx.tableName, Item: { ...itemKey(dbId, HEAD_SK), [A.head]: 0, [A.latestThrough]: 0, [A.name]: name }, ...absent } },
      ],
      `creation of database "${name}"`,
      { name },
    );
  } catch (error) {
    if (cancellationReasons(error)?.[0]?.Code === 'ConditionalCheckFailed') {
      throw new AlreadyExistsError(`database "${name}" already exists`, { name });
    }
    throw error;
  }
  ctx.known.set(name, { name, createdAt, dbId, head: 0, latestThrough: 0 });
  return record(name, createdAt, 0);
}

/**
 * Retires the name's incarnation and returns the partition whose items now await removal, or
 * undefined when there was no such database.
 */
export function deleteDatabase(ctx: StoreContext, name: string): Promise<string | undefined> {
  const exhausted = { what: `deletion of database "${name}"`, why: 'other servers kept deleting or re-creating it meanwhile', details: { name } };
  return withRetries({ maxAttempts: DELETE_ATTEMPTS }, exhausted, async () => {
    const inc = await lookup(ctx, name);
    if (!inc) return done(undefined);
    try {
      // Catalog entry and head go together: from then on no server can reach or append to
      // the old partition. The trash entry remembers that its items still need removing.
      await transact(
        ctx,
        [
          {
            Delete: {
              TableName: ctx.tableName,
              Key: itemKey(CATALOG_PK, databaseSk(name)),
              ConditionExpression: '#db = :db',
              ExpressionAttributeNames: { '#db': A.db },
              ExpressionAttributeValues: { ':db': inc.dbId },
            },
          },
          { Delete: { TableName: ctx.tableName, Key: itemKey(inc.dbId, HEAD_SK) } },
          { Put: { TableName: ctx.tableName, Item: { ...itemKey(CATALOG_PK, trashSk(inc.dbId)), [A.db]: inc.dbId, [A.name]: name } } },
        ],
        exhausted.what,
        { name },
      );
    } catch (error) {
      // Deleted or re-created by someone else meanwhile: look again.
      if (cancellationReasons(error)?.[0]?.Code === 'ConditionalCheckFailed') return tryAgain;
      throw error;
    }
    ctx.known.delete(name);
    return done(inc.dbId);
  });
}
