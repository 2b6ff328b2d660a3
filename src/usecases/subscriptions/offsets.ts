/**
 * Offsets: how far a database goes, overall and per stream (CloudEvents `source`), all as of one
 * revision. Storage keeps no per-stream heads, so each stream costs one read (its latest event);
 * the number of streams answered is therefore bounded.
 */
import type { FactumContext } from '../context.ts';
import { requireDatabase } from '../require-database.ts';
import type { ApiSchemas } from '../../schema/api-types.ts';

export type Offsets = ApiSchemas['Offsets'];

/** Reads of streams' latest events in flight at once. */
const CONCURRENT_READS = 16;

export async function readOffsets(ctx: FactumContext, database: string, limit: number): Promise<Offsets> {
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const found = await ctx.store.distinctValues(database, 'stream', '', limit + 1);
  const streams = found.slice(0, limit);
  const latest = new Array<number>(streams.length).fill(0);
  let next = 0;
  const reader = async () => {
    while (next < streams.length) {
      const i = next++;
      const page = await ctx.store.query(database, {
        selector: { type: 'equals', attr: 'stream', value: streams[i]! },
        toRevision: head,
        direction: 'backward',
        limit: 1,
      });
      latest[i] = page.events[0]?.revision ?? 0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_READS, streams.length) }, reader));
  // A stream whose first event came after `head` was not there yet at that revision.
  const entries = streams.map((stream, i) => [stream, latest[i]!] as const).filter(([, revision]) => revision > 0);
  return { revision: head, streams: Object.fromEntries(entries), has_more: found.length > limit };
}
