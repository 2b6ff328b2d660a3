/**
 * Uploaded components (state views and state changes) and their versions, kept as blobs of the
 * database they belong to:
 *   <kind>/<name>/content/<sha256>.wasm      the bytes, once per content: uploading the same
 *                                            component again adds a version, not a copy
 *   <kind>/<name>/<version>/metadata.json    created if absent, after the content: it takes
 *                                            the version number, and from then on the version exists
 * Each upload of a name is the next version. Versions stored before content was shared keep
 * their bytes in <kind>/<name>/<version>/component.wasm, which is still read and counted.
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../core/errors.ts';
import { done, tryAgain, withRetries, type RetryPolicy } from '../core/retry.ts';
import type { ComponentKind } from './component-kinds.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';

export type { ComponentKind };

/** What every version record carries besides the user's metadata. */
export interface VersionFields {
  version: number;
  created_at: string;
  component_sha256: string;
  component_bytes: number;
}

/** Each lost race means another upload took a number; fresh numbers are read each time. */
const VERSION_RETRIES: RetryPolicy = { maxAttempts: 20 };

const pad = (n: number) => String(n).padStart(10, '0');
const versionDir = (kind: ComponentKind, name: string, version: number) => `${kind.prefix}${name}/${pad(version)}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Components are registered per database, name and content, so no two share an instance. */
function hostKey(database: string, kind: ComponentKind, name: string, sha: string): string {
  return `${database}/${kind.prefix}${name}/${sha}`;
}

/**
 * Validates and transpiles the component before anything is stored (a refused upload leaves
 * no trace), then stores it as the next version with `metadata`.
 */
export async function publishComponent<M extends object>(
  ctx: FactumContext,
  database: string,
  kind: ComponentKind,
  name: string,
  metadata: M,
  component: Uint8Array,
): Promise<M & VersionFields> {
  await requireDatabase(ctx, database);
  const sha = createHash('sha256').update(component).digest('hex');
  await ctx.components.prepare(hostKey(database, kind, name, sha), component, kind.world);
  const contentKey = contentBlobKey(kind, name, sha);
  if (!(await blobExists(ctx, database, contentKey))) await ctx.store.putBlob(database, contentKey, component, { ifAbsent: true });
  return withRetries(VERSION_RETRIES, { what: `upload of ${kind.label} "${name}"`, why: 'concurrent uploads kept taking the next version', details: { name } }, async () => {
    const version = ((await reservedVersions(ctx, database, kind, name)).at(-1) ?? 0) + 1;
    const record = { ...metadata, version, created_at: ctx.now().toISOString(), component_sha256: sha, component_bytes: component.byteLength };
    const taken = await ctx.store.putBlob(database, `${versionDir(kind, name, version)}/metadata.json`, encoder.encode(JSON.stringify(record)), { ifAbsent: true });
    return taken ? done(record) : tryAgain;
  });
}

const contentBlobKey = (kind: ComponentKind, name: string, sha: string) => `${kind.prefix}${name}/content/${sha}.wasm`;

async function blobExists(ctx: FactumContext, database: string, key: string): Promise<boolean> {
  return (await ctx.store.listBlobs(database, key)).includes(key);
}

/**
 * Version numbers taken so far, ascending: every version directory, including one an older
 * upload left with a component but no metadata, so a number is never handed out twice.
 */
async function reservedVersions(ctx: FactumContext, database: string, kind: ComponentKind, name: string): Promise<number[]> {
  const keys = await ctx.store.listBlobs(database, `${kind.prefix}${name}/`);
  const versions = keys.map((key) => key.split('/')[2]!).filter((segment) => /^\d+$/.test(segment)).map(Number);
  return [...new Set(versions)].sort((a, b) => a - b);
}

/** Every published version, oldest first; NotFoundError when there is none. */
export async function componentVersions<T extends VersionFields>(ctx: FactumContext, database: string, kind: ComponentKind, name: string): Promise<T[]> {
  await requireDatabase(ctx, database);
  const keys = await ctx.store.listBlobs(database, `${kind.prefix}${name}/`);
  const records = await Promise.all(
    keys.filter((k) => k.endsWith('/metadata.json')).map(async (k) => {
      const bytes = await ctx.store.getBlob(database, k);
      return bytes && (JSON.parse(decoder.decode(bytes)) as T);
    }),
  );
  const found = records.filter((r): r is Awaited<T> => r !== undefined);
  if (found.length === 0) throw new NotFoundError(`${kind.label} "${name}" does not exist in "${database}"`, { database, name });
  return found;
}

export async function componentVersion<T extends VersionFields>(ctx: FactumContext, database: string, kind: ComponentKind, name: string, version?: number): Promise<T> {
  const versions = await componentVersions<T>(ctx, database, kind, name);
  if (version === undefined) return versions.at(-1)!;
  const found = versions.find((v) => v.version === version);
  if (!found) throw new NotFoundError(`${kind.label} "${name}" has no version ${version}`, { database, name, version });
  return found;
}

/** Names with at least one published version, sorted. */
export async function componentNames(ctx: FactumContext, database: string, kind: ComponentKind): Promise<string[]> {
  await requireDatabase(ctx, database);
  const keys = await ctx.store.listBlobs(database, kind.prefix);
  return [...new Set(keys.filter((k) => k.endsWith('/metadata.json')).map((k) => k.split('/')[1]!))].sort();
}

/** Deletes every version, and whatever else lives under `alsoPrefixes` (snapshots). */
export async function deleteComponent(ctx: FactumContext, database: string, kind: ComponentKind, name: string, alsoPrefixes: string[] = []): Promise<void> {
  const versions = await componentVersions(ctx, database, kind, name);
  for (const prefix of alsoPrefixes) await ctx.store.deleteBlobs(database, prefix);
  await ctx.store.deleteBlobs(database, `${kind.prefix}${name}/`);
  for (const v of versions) ctx.components.release(hostKey(database, kind, name, v.component_sha256));
}

/** The host key of a version, preparing it (from storage, then the transpile cache) if needed. */
export async function preparedKey(ctx: FactumContext, database: string, kind: ComponentKind, name: string, version: VersionFields): Promise<string> {
  const key = hostKey(database, kind, name, version.component_sha256);
  if (!ctx.components.has(key)) await ctx.components.prepare(key, await storedComponent(ctx, database, kind, name, version), kind.world);
  return key;
}

/**
 * A version's stored bytes: the shared content by sha-256, or, for versions stored before
 * content was shared, the copy beside its metadata.
 */
export async function storedComponent(ctx: FactumContext, database: string, kind: ComponentKind, name: string, version: VersionFields): Promise<Uint8Array> {
  const wasm =
    (await ctx.store.getBlob(database, contentBlobKey(kind, name, version.component_sha256))) ??
    (await ctx.store.getBlob(database, `${versionDir(kind, name, version.version)}/component.wasm`));
  if (!wasm) throw new NotFoundError(`${kind.label} "${name}" version ${version.version} has no component`, { database, name, version: version.version });
  return wasm;
}
