/**
 * The single-table key design of the DynamoDB adapter.
 *
 * Every item has a string partition key `pk` and a string sort key `sk`. Sort keys start with a
 * type prefix, so new kinds of items can join a partition without touching the existing ones.
 *
 *   pk = "catalog"
 *     sk = "db#<name>"          a database: name, created_at and `db`, the id of its current
 *                               incarnation (the partition key of everything it holds)
 *     sk = "trash#<db id>"      an incarnation whose items still await removal
 *   pk = "server"
 *     sk = "r#<key>"            a server record (API key, console session): its bytes in `data`
 *   pk = "<db id>" = "db#<name>#<random generation>"
 *     sk = "head"               `head`, the latest revision: the one item every append updates,
 *                               so it serializes writers; and `lt`, the revision through which
 *                               the latest-value items account for every event (see below)
 *     sk = "e#<revision>"       an event (revision zero-padded to 16 digits, so string order is
 *                               revision order); carries the GSI keys below
 *     sk = "k#<hash>"           source + id uniqueness: SHA-256 of the pair, holding the revision
 *     sk = "l#<attr><value>"    the latest revision (`rev`) of an event with that stream, type or
 *                               subject value, and the one before it (`prev`) where known; also
 *                               the distinct values offered for type-ahead
 *     sk = "x#<name>=<value>#<revision>"
 *                               an event with extension attribute <name> = <value> (the value
 *                               escaped so that `#` ends it; over EXTENSION_INLINE_VALUE_BYTES,
 *                               "x#<name>#<hash>#<revision>"), holding `rev` and the value `v`:
 *                               written in the event's own transaction, so a consistent query
 *                               of one value's items finds its events exactly and costs what
 *                               it finds (extension-read.ts)
 *     sk = "v#<attr>#<value>"   a distinct value as earlier versions listed it (no longer used;
 *                               removed with the database)
 *     sk = "b#<blob key>"       a blob (component, snapshot): its size, and its bytes when they fit
 *                               one item, else the generation id of its chunks
 *     sk = "c#<generation>#<n>" chunk n of a large blob version, each well below the item limit
 *
 * A database's items live under a partition key that is new for every incarnation: deleting a
 * database removes its catalog entry and head in one transaction, after which nothing can reach
 * or write the old partition, however long its removal takes.
 *
 * Event items also carry each extension attribute as `x_<name>`, for filters and checks.
 *
 * Three GSIs (by_stream, by_type, by_subject) map "<db id>|<encoded value>" + revision to events.
 * GSIs are eventually consistent, so they answer only queries that accept lag (read.ts); every
 * other read is decided on the base table, narrowed by the latest-value items, which appends
 * update in their own transaction (latest.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BuiltInAttr } from '../../core/selectors.ts';

export const CATALOG_PK = 'catalog';
export const SERVER_PK = 'server';
export const RECORD_SK_PREFIX = 'r#';
export const DATABASE_SK_PREFIX = 'db#';
export const TRASH_SK_PREFIX = 'trash#';
export const HEAD_SK = 'head';
export const EVENT_SK_PREFIX = 'e#';
export const KEY_SK_PREFIX = 'k#';
export const LATEST_SK_PREFIX = 'l#';
export const EXTENSION_SK_PREFIX = 'x#';
export const BLOB_SK_PREFIX = 'b#';
export const CHUNK_SK_PREFIX = 'c#';

/** Wide enough for every safe integer, so revisions sort as strings. */
const REVISION_DIGITS = 16;

/** Attribute names, kept short because they count towards every item's size. */
export const A = {
  pk: 'pk',
  sk: 'sk',
  name: 'name',
  createdAt: 'created_at',
  db: 'db',
  head: 'head',
  latestThrough: 'lt',
  prev: 'prev',
  revision: 'rev',
  json: 'json',
  source: 'src',
  type: 'typ',
  subject: 'sub',
  effectiveTime: 't',
  committedAt: 'c',
  streamIndexKey: 'xs',
  typeIndexKey: 'xt',
  subjectIndexKey: 'xj',
  size: 'size',
  chunks: 'chunks',
  generation: 'gen',
  data: 'data',
  /** A checkpoint blob's position (append-actions.ts), for its forward-only condition. */
  checkpointPosition: 'cp',
  extensionValue: 'v',
} as const;

/** The event item attribute holding an extension's value: names are a-z0-9, so no A name is one. */
export function extensionItemAttribute(name: string): string {
  return `x_${name}`;
}

export interface IndexDefinition {
  indexName: string;
  keyAttribute: string;
}

export const INDEXES: Record<BuiltInAttr, IndexDefinition> = {
  stream: { indexName: 'by_stream', keyAttribute: A.streamIndexKey },
  event_type: { indexName: 'by_type', keyAttribute: A.typeIndexKey },
  subject: { indexName: 'by_subject', keyAttribute: A.subjectIndexKey },
};

/** What the GSIs carry beyond their keys: enough to filter candidates without reading events. */
export const INDEX_PROJECTED_ATTRIBUTES = [A.source, A.type, A.subject, A.effectiveTime];

export function databaseSk(name: string): string {
  return `${DATABASE_SK_PREFIX}${name}`;
}

export function trashSk(dbId: string): string {
  return `${TRASH_SK_PREFIX}${dbId}`;
}

export function newDatabaseId(name: string): string {
  return `db#${name}#${randomBytes(8).toString('hex')}`;
}

export function eventSk(revision: number): string {
  return `${EVENT_SK_PREFIX}${String(revision).padStart(REVISION_DIGITS, '0')}`;
}

const VALUE_ATTR_CODES: Record<BuiltInAttr, string> = { stream: 's', event_type: 't', subject: 'j' };

/**
 * Values longer than this are not offered for type-ahead: a sort key holds at most 1024 bytes,
 * and nobody types a kilobyte to pick a value. Their latest-value items are keyed by a hash.
 */
export const MAX_LISTED_VALUE_BYTES = 1000;

/** Sort-key prefix of the latest-value items of an attribute's values kept in full (listable). */
export function latestSkPrefix(attr: BuiltInAttr): string {
  return `${LATEST_SK_PREFIX}${VALUE_ATTR_CODES[attr]}=`;
}

/**
 * The sort key of the latest-value item of an attribute value; null = no subject. Long values
 * go by their hash, which no value kept in full can be mistaken for (`=` against `#`).
 */
export function latestSk(attr: BuiltInAttr, value: string | null): string {
  const code = VALUE_ATTR_CODES[attr];
  if (value === null) return `${LATEST_SK_PREFIX}${code}!`;
  if (Buffer.byteLength(value) <= MAX_LISTED_VALUE_BYTES) return `${latestSkPrefix(attr)}${value}`;
  return `${LATEST_SK_PREFIX}${code}#${createHash('sha256').update(value).digest('base64url')}`;
}

/**
 * Escaped extension values (`!` as `!!`, `#` as `!h`) longer than this go by their hash: a sort
 * key holds at most 1024 bytes, besides the name and the revision.
 */
const EXTENSION_INLINE_VALUE_BYTES = 900;

function escapeExtensionValue(value: string): string {
  return value.replace(/!/g, '!!').replace(/#/g, '!h');
}

/**
 * The sort-key prefix of the extension index items of one value, `#`-terminated, so no other
 * value's items share it (the escaping keeps `#` out of values).
 */
export function extensionValueSkPrefix(name: string, value: string): string {
  const escaped = escapeExtensionValue(value);
  if (Buffer.byteLength(escaped) <= EXTENSION_INLINE_VALUE_BYTES) return `${EXTENSION_SK_PREFIX}${name}=${escaped}#`;
  return `${hashedExtensionSkPrefix(name)}${createHash('sha256').update(value).digest('base64url')}#`;
}

export function extensionIndexSk(name: string, value: string, revision: number): string {
  return `${extensionValueSkPrefix(name, value)}${String(revision).padStart(REVISION_DIGITS, '0')}`;
}

/**
 * Where the items of the values starting with `prefix` are, kept in full: escaping is a
 * prefix-free code, so a value starts with `prefix` exactly when its escaped form starts with
 * the escaped prefix. Long values are under hashedExtensionSkPrefix, to be filtered by `v`.
 */
export function extensionPrefixSk(name: string, prefix: string): string {
  return `${EXTENSION_SK_PREFIX}${name}=${escapeExtensionValue(prefix)}`;
}

export function hashedExtensionSkPrefix(name: string): string {
  return `${EXTENSION_SK_PREFIX}${name}#`;
}

/**
 * The smallest sort key after every item of the (inline) value whose prefix is given: `$`
 * follows `#`, and every longer value continues with a character above `#`.
 */
export function afterExtensionValueSk(valueSkPrefix: string): string {
  return `${valueSkPrefix.slice(0, -1)}$`;
}

export function blobSk(blobKey: string): string {
  return `${BLOB_SK_PREFIX}${blobKey}`;
}

export function newBlobGeneration(): string {
  return randomBytes(8).toString('hex');
}

export function chunkSk(generation: string, index: number): string {
  return `${CHUNK_SK_PREFIX}${generation}#${String(index).padStart(6, '0')}`;
}

/** The hash keeps the sort key short and fixed in size whatever the length of source and id. */
export function eventKeySk(source: string, id: string): string {
  return `${KEY_SK_PREFIX}${createHash('sha256').update(JSON.stringify([source, id])).digest('base64url')}`;
}

/**
 * Values longer than this are indexed by their hash: GSI partition keys are limited to 2048 bytes
 * and sources or subjects are not bounded. Candidates are always re-checked against the event's
 * own attributes, so a hashed key only ever costs a comparison.
 */
const MAX_INLINE_INDEX_VALUE_BYTES = 1024;

/** The GSI partition key of an attribute value in one database incarnation; null = no subject. */
export function indexKey(dbId: string, value: string | null | undefined): string {
  if (value === null || value === undefined) return `${dbId}|!`;
  if (Buffer.byteLength(value) <= MAX_INLINE_INDEX_VALUE_BYTES) return `${dbId}|=${value}`;
  return `${dbId}|#${createHash('sha256').update(value).digest('base64url')}`;
}
