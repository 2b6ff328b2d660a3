/**
 * Reading back the WebAssembly bytes of one published component version, for exports (and
 * anyone who wants to see what runs). The bytes are checked against the sha-256 the version
 * recorded, so a damaged blob is an error here rather than a silently wrong backup.
 */
import { createHash } from 'node:crypto';
import { InternalError, NotFoundError } from '../core/errors.ts';
import { componentVersion, type VersionFields } from './component-registry.ts';
import type { ComponentKind } from './component-kinds.ts';
import type { FactumContext } from './context.ts';

export interface ComponentBytes {
  version: VersionFields;
  wasm: Uint8Array;
}

/**
 * The bytes of `name` at `version`. Blob keys as component-registry.ts lays them out: shared
 * content by sha-256, or (for versions stored before content was shared) beside the metadata.
 */
export async function componentBytes(ctx: FactumContext, database: string, kind: ComponentKind, name: string, version: number): Promise<ComponentBytes> {
  const record = await componentVersion<VersionFields>(ctx, database, kind, name, version);
  const wasm =
    (await ctx.store.getBlob(database, `${kind.prefix}${name}/content/${record.component_sha256}.wasm`)) ??
    (await ctx.store.getBlob(database, `${kind.prefix}${name}/${String(version).padStart(10, '0')}/component.wasm`));
  if (!wasm) throw new NotFoundError(`${kind.label} "${name}" version ${version} has no component`, { database, name, version });
  const sha = createHash('sha256').update(wasm).digest('hex');
  if (sha !== record.component_sha256) {
    throw new InternalError(`${kind.label} "${name}" version ${version}: the stored component does not match its sha-256 (${sha}, recorded ${record.component_sha256})`, { name, version });
  }
  return { version: record, wasm };
}
