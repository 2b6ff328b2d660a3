/**
 * Server records (API keys, console sessions, shared secrets): one item each in the partition
 * `server`, read consistently so that what one server writes or deletes, every other server
 * sees on its next read.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { assertBlobKey } from '../types.ts';
import { getItem, MAX_PAGE_ITEMS, prefixQuery, queryItems } from './client.ts';
import type { StoreContext } from './context.ts';
import { itemKey, MAX_ITEM_BYTES } from './items.ts';
import { A, RECORD_SK_PREFIX, SERVER_PK } from './keys.ts';

/** Records are small documents; room is left under the item limit for the key and attributes. */
const MAX_RECORD_BYTES = MAX_ITEM_BYTES - 4 * 1024;

export async function putRecord(ctx: StoreContext, key: string, bytes: Uint8Array, ifAbsent: boolean): Promise<boolean> {
  assertBlobKey(key);
  if (bytes.byteLength > MAX_RECORD_BYTES) throw new Error(`server record "${key}" is ${bytes.byteLength} bytes, over ${MAX_RECORD_BYTES}`);
  try {
    await ctx.doc.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...itemKey(SERVER_PK, RECORD_SK_PREFIX + key), [A.data]: Uint8Array.from(bytes) },
        ...(ifAbsent ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } } : {}),
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

export async function getRecord(ctx: StoreContext, key: string): Promise<Uint8Array | undefined> {
  assertBlobKey(key);
  const item = await getItem(ctx, SERVER_PK, RECORD_SK_PREFIX + key, [A.data]);
  return item && Uint8Array.from((item[A.data] as Uint8Array | undefined) ?? new Uint8Array(0));
}

export async function listRecords(ctx: StoreContext, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of queryItems(ctx, prefixQuery(ctx, SERVER_PK, RECORD_SK_PREFIX + prefix, [A.sk]), MAX_PAGE_ITEMS)) {
    keys.push((item[A.sk] as string).slice(RECORD_SK_PREFIX.length));
  }
  return keys;
}

export async function deleteRecord(ctx: StoreContext, key: string): Promise<boolean> {
  assertBlobKey(key);
  const { Attributes: old } = await ctx.doc.send(
    new DeleteCommand({ TableName: ctx.tableName, Key: itemKey(SERVER_PK, RECORD_SK_PREFIX + key), ReturnValues: 'ALL_OLD' }),
  );
  return old !== undefined;
}
