/**
 * Blobs of a database. Large blobs are written as chunks under a new generation id first, then
 * published by putting their manifest; readers only follow manifests, so they never see a
 * half-written blob. The manifest goes in a transaction with a check that the database's head
 * still exists, so nothing is published into a deleted database.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { done, tryAgain, withRetries } from '../../core/retry.ts';
import { assertBlobKey } from '../types.ts';
import { batchWrite, cancellationReasons, deleteKeys, getItem, MAX_PAGE_ITEMS, prefixQuery, queryItems, transact } from './client.ts';
import { live, notFound } from './catalog.ts';
import type { StoreContext } from './context.ts';
import { itemKey, num, type Item } from './items.ts';
import { A, BLOB_SK_PREFIX, HEAD_SK, blobSk, chunkSk, newBlobGeneration } from './keys.ts';

/** Blob bytes per item, leaving room under the 400 KB item limit for keys and attributes. */
const BLOB_CHUNK_BYTES = 384 * 1024;
/** Chunks per BatchWriteItem request, keeping requests near 3 MB (DynamoDB takes up to 16 MB). */
const CHUNKS_PER_BATCH = 8;
/** Reads of a blob replaced between reading its manifest and its chunks, before giving up. */
const READ_ATTEMPTS = 5;

export async function putBlob(ctx: StoreContext, name: string, blobKey: string, bytes: Uint8Array, ifAbsent: boolean): Promise<boolean> {
  assertBlobKey(blobKey);
  const { inc } = await live(ctx, name);
  const previous = ifAbsent ? undefined : await getItem(ctx, inc.dbId, blobSk(blobKey), [A.generation, A.chunks]);
  const generation = newBlobGeneration();
  const inline = bytes.byteLength <= BLOB_CHUNK_BYTES;
  const chunks = inline ? 0 : Math.ceil(bytes.byteLength / BLOB_CHUNK_BYTES);
  if (!inline) await writeChunks(ctx, inc.dbId, generation, bytes);
  const manifest: Item = {
    ...itemKey(inc.dbId, blobSk(blobKey)),
    [A.size]: bytes.byteLength,
    [A.chunks]: chunks,
    [A.generation]: generation,
    ...(inline ? { [A.data]: Uint8Array.from(bytes) } : {}),
  };
  try {
    await transact(
      ctx,
      [
        {
          ConditionCheck: {
            TableName: ctx.tableName,
            Key: itemKey(inc.dbId, HEAD_SK),
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: { '#pk': A.pk },
          },
        },
        {
          Put: {
            TableName: ctx.tableName,
            Item: manifest,
            ...(ifAbsent ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } } : {}),
          },
        },
      ],
      `publication of blob "${blobKey}" in database "${name}"`,
      { database: name },
    );
  } catch (error) {
    if (chunks > 0) await deleteChunks(ctx, inc.dbId, generation, chunks).catch(() => undefined);
    const reasons = cancellationReasons(error);
    if (reasons?.[1]?.Code === 'ConditionalCheckFailed') return false;
    if (reasons?.[0]?.Code === 'ConditionalCheckFailed') throw notFound(name);
    throw error;
  }
  const replaced = previous && previous[A.generation] !== generation ? num(previous[A.chunks]) : 0;
  if (replaced > 0) await deleteChunks(ctx, inc.dbId, previous![A.generation] as string, replaced);
  return true;
}

export async function getBlob(ctx: StoreContext, name: string, blobKey: string): Promise<Uint8Array | undefined> {
  assertBlobKey(blobKey);
  const { inc } = await live(ctx, name);
  const exhausted = { what: `read of blob "${blobKey}" of database "${name}"`, why: 'it kept being replaced while it was read', details: { database: name } };
  // A blob replaced between reading its manifest and its chunks is read again.
  return withRetries({ maxAttempts: READ_ATTEMPTS }, exhausted, async () => {
    const manifest = await getItem(ctx, inc.dbId, blobSk(blobKey));
    if (!manifest) return done(undefined);
    const size = num(manifest[A.size]);
    const chunks = num(manifest[A.chunks]);
    if (chunks === 0) return done(Uint8Array.from((manifest[A.data] as Uint8Array | undefined) ?? new Uint8Array(0)));
    const generation = manifest[A.generation] as string;
    const out = new Uint8Array(size);
    let offset = 0;
    let found = 0;
    const input = {
      TableName: ctx.tableName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      ExpressionAttributeNames: { '#pk': A.pk, '#sk': A.sk },
      ExpressionAttributeValues: { ':pk': inc.dbId, ':from': chunkSk(generation, 0), ':to': chunkSk(generation, chunks - 1) },
      ConsistentRead: true,
    };
    for await (const item of queryItems(ctx, input, chunks)) {
      const part = (item[A.data] as Uint8Array | undefined) ?? new Uint8Array(0);
      if (offset + part.byteLength > size) break;
      out.set(part, offset);
      offset += part.byteLength;
      found++;
    }
    return found === chunks && offset === size ? done(out) : tryAgain;
  });
}

export async function listBlobs(ctx: StoreContext, name: string, prefix: string): Promise<string[]> {
  const { inc } = await live(ctx, name);
  const keys: string[] = [];
  for await (const item of queryItems(ctx, prefixQuery(ctx, inc.dbId, blobSk(prefix), [A.sk]), MAX_PAGE_ITEMS)) {
    keys.push((item[A.sk] as string).slice(BLOB_SK_PREFIX.length));
  }
  return keys;
}

export async function deleteBlobs(ctx: StoreContext, name: string, prefix: string): Promise<number> {
  const { inc } = await live(ctx, name);
  const manifests: Item[] = [];
  for await (const item of queryItems(ctx, prefixQuery(ctx, inc.dbId, blobSk(prefix), [A.sk]), MAX_PAGE_ITEMS)) manifests.push(item);
  let deleted = 0;
  for (const manifest of manifests) {
    // The deleted manifest names the chunks to remove, even if the blob was just replaced.
    const { Attributes: old } = await ctx.doc.send(
      new DeleteCommand({ TableName: ctx.tableName, Key: itemKey(inc.dbId, manifest[A.sk] as string), ReturnValues: 'ALL_OLD' }),
    );
    if (!old) continue;
    deleted++;
    const chunks = num(old[A.chunks]);
    if (chunks > 0) await deleteChunks(ctx, inc.dbId, old[A.generation] as string, chunks);
  }
  return deleted;
}

async function writeChunks(ctx: StoreContext, dbId: string, generation: string, bytes: Uint8Array): Promise<void> {
  const chunks = Math.ceil(bytes.byteLength / BLOB_CHUNK_BYTES);
  for (let first = 0; first < chunks; first += CHUNKS_PER_BATCH) {
    const items: Item[] = [];
    for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_BATCH); i++) {
      items.push({ ...itemKey(dbId, chunkSk(generation, i)), [A.data]: bytes.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES) });
    }
    await batchWrite(ctx, items.map((item) => ({ PutRequest: { Item: item } })));
  }
}

function deleteChunks(ctx: StoreContext, dbId: string, generation: string, chunks: number): Promise<void> {
  return deleteKeys(ctx, Array.from({ length: chunks }, (_, i) => itemKey(dbId, chunkSk(generation, i))));
}
