/**
 * Removal of the items of deleted databases, in the background. Deleting a database retires its
 * partition at once (catalog.ts) and leaves a trash entry naming it; the removal here may take
 * long, stops when the store closes, and is resumed from the trash entries on the next start.
 */
import { DeleteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { BATCH_WRITE_ITEMS, deleteKeys, MAX_PAGE_ITEMS, prefixQuery, queryItems } from './client.ts';
import type { StoreContext } from './context.ts';
import { itemKey, type Item } from './items.ts';
import { A, CATALOG_PK, TRASH_SK_PREFIX, trashSk } from './keys.ts';

/** Removals under way, by partition key. */
export type Cleanups = Map<string, Promise<void>>;

/** Starts removing the items of every partition the trash holds. */
export async function resumeCleanups(ctx: StoreContext, cleanups: Cleanups): Promise<void> {
  for await (const item of queryItems(ctx, prefixQuery(ctx, CATALOG_PK, TRASH_SK_PREFIX), MAX_PAGE_ITEMS)) {
    if (!ctx.isOpen()) return;
    startCleanup(ctx, cleanups, item[A.db] as string);
  }
}

/** Starts removing a retired partition, unless that is under way already; failures only warn. */
export function startCleanup(ctx: StoreContext, cleanups: Cleanups, dbId: string): void {
  if (cleanups.has(dbId)) return;
  const removal = removePartition(ctx, dbId)
    .catch((error: unknown) =>
      process.emitWarning(`DynamoDB: removing the items of deleted database ${dbId} stopped (it resumes on the next start): ${(error as Error).message}`),
    )
    .finally(() => cleanups.delete(dbId));
  cleanups.set(dbId, removal);
}

/**
 * Deletes every item of a deleted incarnation, then its trash entry. Nothing writes to the
 * partition any more, so reading it again from the start until it is empty finds everything.
 */
async function removePartition(ctx: StoreContext, dbId: string): Promise<void> {
  const firstPage = {
    TableName: ctx.tableName,
    KeyConditionExpression: '#pk = :pk',
    ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
    ExpressionAttributeValues: { ':pk': dbId },
    ProjectionExpression: '#pk, #sk',
    ConsistentRead: true,
    Limit: MAX_PAGE_ITEMS,
  };
  for (;;) {
    if (!ctx.isOpen()) return;
    const items = ((await ctx.doc.send(new QueryCommand(firstPage))).Items ?? []) as Item[];
    if (items.length === 0) break;
    for (let i = 0; i < items.length; i += BATCH_WRITE_ITEMS) {
      if (!ctx.isOpen()) return;
      await deleteKeys(ctx, items.slice(i, i + BATCH_WRITE_ITEMS));
    }
  }
  await ctx.doc.send(new DeleteCommand({ TableName: ctx.tableName, Key: itemKey(CATALOG_PK, trashSk(dbId)) }));
}
