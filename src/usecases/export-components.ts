/**
 * Reading back the WebAssembly bytes of one published component version, for exports (and
 * anyone who wants to see what runs). The bytes are checked against the sha-256 the version
 * recorded, so a damaged blob is an error here rather than a silently wrong backup.
 */
import { createHash } from 'node:crypto';
import { InternalError } from '../core/errors.ts';
import { componentVersion, storedComponent, type VersionFields } from './component-registry.ts';
import type { ComponentKind } from './component-kinds.ts';
import type { FactumContext } from './context.ts';

export interface ComponentBytes {
  version: VersionFields;
  wasm: Uint8Array;
}

/** The bytes of `name` at `version`, as component-registry.ts stores them. */
export async function componentBytes(ctx: FactumContext, database: string, kind: ComponentKind, name: string, version: number): Promise<ComponentBytes> {
  const record = await componentVersion<VersionFields>(ctx, database, kind, name, version);
  const wasm = await storedComponent(ctx, database, kind, name, record);
  const sha = createHash('sha256').update(wasm).digest('hex');
  if (sha !== record.component_sha256) {
    throw new InternalError(`${kind.label} "${name}" version ${version}: the stored component does not match its sha-256 (${sha}, recorded ${record.component_sha256})`, { name, version });
  }
  return { version: record, wasm };
}
