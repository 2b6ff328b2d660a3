/**
 * Durable consumers: a name, a selector and a position (the last revision it acknowledged),
 * kept as blobs of their database, so that every adapter keeps them as durably as it keeps
 * anything else, and they go when the database goes:
 *
 *   consumers/<name>/definition                          the registration (JSON)
 *   consumers/<name>/<incarnation>/positions/<revision>  one per ack (zero-padded), holding its time
 *   consumers/<name>/<incarnation>/holder                the session reading as the consumer now
 *   consumers/<name>/<incarnation>/checkpoint            the last ack committed with an append
 *
 * The position is the greatest revision under positions/ (or where the consumer started). An
 * ack writes a key of its own and never rewrites another, so acks from any number of
 * connections and servers can only move a position forward: there is no read-modify-write to
 * race on. Older keys are pruned; the newest is never deleted. The incarnation (a random id
 * per registration) keeps a consumer registered again under an old name from inheriting
 * positions written late for the one deleted before it. An ack that comes with an append is a
 * storage checkpoint instead (consumer-ack.ts), which the store writes in the append's own
 * transaction and only forward; the position is the greater of the two.
 */
import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../core/errors.ts';
import { anyOf, parseSelector, type Selector, type WireSelector } from '../../core/selectors.ts';
import type { ApiSchemas } from '../../schema/api-types.ts';
import { assertSchema } from '../../schema/openapi.ts';
import type { FactumContext } from '../context.ts';
import { requireDatabase } from '../require-database.ts';

export type ConsumerRequest = ApiSchemas['ConsumerRequest'];
export type ConsumerStart = ApiSchemas['ConsumerStart'];
/** A consumer as the API shows it. */
export type Consumer = ApiSchemas['Consumer'];
export type AckResult = ApiSchemas['AckResponse'];

/** A registration as stored. */
export interface ConsumerDefinition {
  name: string;
  selectors: WireSelector[];
  start: ConsumerStart;
  created_at: string;
  incarnation: string;
  /** The position before any ack: 0, the head at registration (`latest`), or the given revision. */
  initial_position: number;
}

/** Matching events counted for `lag`, at most: each is read to be counted. */
export const LAG_COUNT_LIMIT = 1000;
/** Position keys kept per consumer after an ack. */
const POSITIONS_KEPT = 2;

const pad = (n: number) => String(n).padStart(16, '0');
const consumerPrefix = (name: string) => `consumers/${name}/`;
const definitionKey = (name: string) => `${consumerPrefix(name)}definition`;
const positionsPrefix = (def: ConsumerDefinition) => `${consumerPrefix(def.name)}${def.incarnation}/positions/`;
const holderKey = (def: ConsumerDefinition) => `${consumerPrefix(def.name)}${def.incarnation}/holder`;
/** Where the store keeps the consumer's checkpoint. */
export const checkpointKey = (def: ConsumerDefinition) => `${consumerPrefix(def.name)}${def.incarnation}/checkpoint`;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = <T>(bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as T;

/** The selectors of a request, `selectors` and `selector` together (OR-ed), in wire form. */
export function requestedSelectors(request: { selectors?: unknown[]; selector?: unknown }): WireSelector[] {
  return [...(request.selectors ?? []), ...(request.selector === undefined ? [] : [request.selector])] as WireSelector[];
}

/** The OR of wire selectors; undefined (every event) for none. */
export function selectorOf(selectors: readonly WireSelector[], path = 'selectors'): Selector | undefined {
  return selectors.length === 0 ? undefined : anyOf(selectors.map((s, i) => parseSelector(s, `${path}[${i}]`)));
}

export async function registerConsumer(ctx: FactumContext, database: string, request: ConsumerRequest): Promise<{ consumer: Consumer; created: boolean }> {
  assertSchema<ConsumerRequest>('ConsumerRequest', request);
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const selectors = requestedSelectors(request);
  selectorOf(selectors);
  const start = request.start ?? 'beginning';
  if (typeof start === 'number' && start > head) {
    throw new InvalidArgumentError(`start ${start} is beyond the latest revision ${head}`, { field: 'start', latest_revision: head });
  }
  const definition: ConsumerDefinition = {
    name: request.name,
    selectors,
    start,
    created_at: ctx.now().toISOString(),
    incarnation: randomBytes(8).toString('hex'),
    initial_position: start === 'beginning' ? 0 : start === 'latest' ? head : start,
  };
  if (await ctx.store.putBlob(database, definitionKey(request.name), encode(definition), { ifAbsent: true })) {
    return { consumer: await describe(ctx, database, definition, head), created: true };
  }
  // Registering again the same way is a retry; another selector or start under the name is a clash.
  const existing = await readDefinition(ctx, database, request.name);
  if (existing && JSON.stringify([existing.selectors, existing.start]) === JSON.stringify([selectors, start])) {
    return { consumer: await describe(ctx, database, existing, head), created: false };
  }
  throw new AlreadyExistsError(`consumer "${request.name}" already exists with another selector or start`, { consumer: request.name });
}

export async function listConsumers(ctx: FactumContext, database: string): Promise<{ consumers: Consumer[]; revision: number }> {
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const names = (await ctx.store.listBlobs(database, 'consumers/'))
    .filter((key) => key.endsWith('/definition'))
    .map((key) => key.slice('consumers/'.length, -'/definition'.length));
  const definitions = (await Promise.all(names.map((name) => readDefinition(ctx, database, name)))).filter((d) => d !== undefined);
  return { consumers: await Promise.all(definitions.map((d) => describe(ctx, database, d, head))), revision: head };
}

export async function getConsumer(ctx: FactumContext, database: string, name: string): Promise<Consumer> {
  const head = (await requireDatabase(ctx, database)).latest_revision;
  return describe(ctx, database, await requireConsumer(ctx, database, name), head);
}

/** Deletes the consumer; a subscription reading as it on this server ends (others within a poll interval). */
export async function deleteConsumer(ctx: FactumContext, database: string, name: string): Promise<void> {
  await requireDatabase(ctx, database);
  await requireConsumer(ctx, database, name);
  await ctx.store.deleteBlobs(database, consumerPrefix(name));
  ctx.subscriptions?.stopConsumer(consumerKey(database, name), {
    kind: 'error',
    error: new NotFoundError(`consumer "${name}" was deleted`, { database, consumer: name }),
  });
}

/** Moves the position forward to `revision`; an ack at or before it changes nothing. */
export async function ackConsumer(ctx: FactumContext, database: string, name: string, revision: number): Promise<AckResult> {
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const definition = await requireConsumer(ctx, database, name);
  if (revision > head) {
    throw new InvalidArgumentError(`revision ${revision} is beyond the latest revision ${head}`, { field: 'revision', latest_revision: head });
  }
  const current = await readPosition(ctx, database, definition);
  if (revision <= current.position) return { name, position: current.position, moved: false, acked_at: current.acked_at };
  const ackedAt = ctx.now().toISOString();
  await ctx.store.putBlob(database, `${positionsPrefix(definition)}${pad(revision)}`, encode({ acked_at: ackedAt }));
  // Another ack may have gone further meanwhile: the position is the greatest of them.
  const keys = await ctx.store.listBlobs(database, positionsPrefix(definition));
  for (const old of keys.slice(0, Math.max(0, keys.length - POSITIONS_KEPT))) await ctx.store.deleteBlobs(database, old);
  if (positionOfKey(keys.at(-1), definition) > revision) return { name, moved: true, ...(await readPosition(ctx, database, definition)) };
  return { name, position: revision, moved: true, acked_at: ackedAt };
}

export async function requireConsumer(ctx: FactumContext, database: string, name: string): Promise<ConsumerDefinition> {
  assertSchema<string>('ConsumerName', name, 'consumer');
  const definition = await readDefinition(ctx, database, name);
  if (!definition) throw new NotFoundError(`database "${database}" has no consumer "${name}"`, { database, consumer: name });
  return definition;
}

/** The last acknowledged revision (where it started, before any ack) and when it was acknowledged. */
export async function readPosition(ctx: FactumContext, database: string, definition: ConsumerDefinition): Promise<{ position: number; acked_at: string | null }> {
  const [keys, checkpoint] = await Promise.all([ctx.store.listBlobs(database, positionsPrefix(definition)), ctx.store.getBlob(database, checkpointKey(definition))]);
  const acked = await ackedPosition(ctx, database, definition, keys.at(-1));
  const committed = checkpoint && decode<{ position: number; acked_at: string }>(checkpoint);
  return committed && committed.position > acked.position ? { position: committed.position, acked_at: committed.acked_at } : acked;
}

async function ackedPosition(ctx: FactumContext, database: string, definition: ConsumerDefinition, last: string | undefined): Promise<{ position: number; acked_at: string | null }> {
  const position = positionOfKey(last, definition);
  if (last === undefined || position === definition.initial_position) return { position, acked_at: null };
  const bytes = await ctx.store.getBlob(database, last);
  return { position, acked_at: bytes ? decode<{ acked_at: string }>(bytes).acked_at : null };
}

/** The key under which the hub knows who reads as a consumer. */
export function consumerKey(database: string, name: string): string {
  return `${database}\u0000${name}`;
}

/** A consumer a subscription on this server reads as, and how many revisions its position is behind its database's head. */
export interface HeldConsumerLag {
  database: string;
  consumer: string;
  lagRevisions: number;
}

/**
 * The lag of the consumers subscriptions on this server read as, at most `limit` of them: a few
 * reads each (the head, the definition, the position), so a scrape costs a bounded amount. A
 * consumer (or database) deleted meanwhile, or one whose reads fail, is left out.
 */
export async function heldConsumerLags(ctx: FactumContext, limit: number): Promise<HeldConsumerLag[]> {
  const keys: string[] = [];
  for (const key of ctx.subscriptions?.heldConsumers() ?? []) {
    if (keys.length >= limit) break;
    keys.push(key);
  }
  const lags = await Promise.all(
    keys.map(async (key) => {
      const [database, consumer] = key.split('\u0000') as [string, string];
      const head = (await ctx.store.getDatabase(database))?.latest_revision;
      const definition = head === undefined ? undefined : await readDefinition(ctx, database, consumer);
      if (head === undefined || !definition) return undefined;
      const { position } = await readPosition(ctx, database, definition);
      return { database, consumer, lagRevisions: Math.max(0, head - position) };
    }).map((lag) => lag.catch(() => undefined)),
  );
  return lags.filter((lag) => lag !== undefined);
}

/** Records that `session` reads as the consumer now, for subscriptions on other servers to see. */
export async function holdConsumer(ctx: FactumContext, database: string, definition: ConsumerDefinition, session: string): Promise<void> {
  await ctx.store.putBlob(database, holderKey(definition), encode({ session }));
}

/** Whether `session` still reads as the consumer: `other` once another took over, `gone` once it was deleted. */
export async function consumerHolder(ctx: FactumContext, database: string, definition: ConsumerDefinition, session: string): Promise<'this' | 'other' | 'gone'> {
  const bytes = await ctx.store.getBlob(database, holderKey(definition));
  if (!bytes) return 'gone';
  return decode<{ session: string }>(bytes).session === session ? 'this' : 'other';
}

function positionOfKey(key: string | undefined, definition: ConsumerDefinition): number {
  return Math.max(definition.initial_position, key === undefined ? 0 : Number(key.slice(positionsPrefix(definition).length)));
}

async function readDefinition(ctx: FactumContext, database: string, name: string): Promise<ConsumerDefinition | undefined> {
  const bytes = await ctx.store.getBlob(database, definitionKey(name));
  return bytes && decode<ConsumerDefinition>(bytes);
}

async function describe(ctx: FactumContext, database: string, definition: ConsumerDefinition, head: number): Promise<Consumer> {
  const { position, acked_at } = await readPosition(ctx, database, definition);
  const pending =
    position >= head
      ? { events: [], hasMore: false }
      : await ctx.store.query(database, {
          selector: selectorOf(definition.selectors),
          fromRevision: position + 1,
          toRevision: head,
          direction: 'forward',
          limit: LAG_COUNT_LIMIT,
        });
  return {
    name: definition.name,
    selectors: definition.selectors as Consumer['selectors'],
    start: definition.start,
    created_at: definition.created_at,
    position,
    acked_at,
    lag: pending.events.length,
    lag_exact: !pending.hasMore,
  };
}
