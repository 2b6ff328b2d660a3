/**
 * Importing a component version (a state view or state change of an export) under its own
 * version number and creation time. Versions are imported in order, oldest first: a version's
 * number must be the next one the target would give, so an empty target ends up numbering them
 * exactly as the exported database did. Importing a version that is already there, identical,
 * changes nothing, so an interrupted import can simply run again.
 */
import { createHash } from 'node:crypto';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../core/errors.ts';
import { assertSchema } from '../schema/openapi.ts';
import { componentVersions, type VersionFields } from './component-registry.ts';
import { STATE_CHANGES, STATE_VIEWS, type ComponentKind } from './component-kinds.ts';
import type { FactumContext } from './context.ts';
import { publishStateChange, type StateChangeDefinition } from './state-changes.ts';
import { publishStateView, type StateViewDefinition } from './state-views.ts';

export type ImportedKind = 'state-view' | 'state-change';

/** A version as listStateViewVersions or getStateChange answer it: the metadata and the version fields. */
export type VersionRecord = VersionFields & Record<string, unknown>;

export interface ComponentImport {
  version: VersionRecord;
  /** Set when the version was already there, identical: nothing was written. */
  replayed?: true;
}

interface KindRules {
  kind: ComponentKind;
  nameField: string;
  metadataSchema: string;
  publish(ctx: FactumContext, database: string, metadata: object, wasm: Uint8Array): Promise<VersionRecord>;
}

const RULES: Record<ImportedKind, KindRules> = {
  'state-view': {
    kind: STATE_VIEWS,
    nameField: 'state_view_name',
    metadataSchema: 'StateViewMetadata',
    publish: (ctx, database, metadata, wasm) => publishStateView(ctx, database, metadata as StateViewDefinition, wasm) as Promise<VersionRecord>,
  },
  'state-change': {
    kind: STATE_CHANGES,
    nameField: 'state_change_name',
    metadataSchema: 'StateChangeMetadata',
    publish: (ctx, database, metadata, wasm) => publishStateChange(ctx, database, metadata as StateChangeDefinition, wasm) as Promise<VersionRecord>,
  },
};

export async function importComponentVersion(ctx: FactumContext, database: string, kindName: ImportedKind, record: unknown, wasm: Uint8Array): Promise<ComponentImport> {
  const rules = RULES[kindName];
  assertSchema<VersionRecord>('ImportedComponentVersion', record, 'metadata');
  const { version, created_at: createdAt, component_sha256: sha, component_bytes: bytes, ...metadata } = record;
  assertSchema(rules.metadataSchema, metadata, 'metadata');
  const name = String(metadata[rules.nameField]);
  const actualSha = createHash('sha256').update(wasm).digest('hex');
  if (actualSha !== sha || wasm.byteLength !== bytes) {
    throw new InvalidArgumentError(`the wasm part (${wasm.byteLength} bytes, sha-256 ${actualSha}) is not the component the version records (${bytes} bytes, sha-256 ${sha})`, {
      field: 'wasm',
    });
  }

  const existing = await componentVersions<VersionRecord>(ctx, database, rules.kind, name).catch((error: unknown) => {
    if (error instanceof NotFoundError && error.details.name === name) return [];
    throw error;
  });
  const same = existing.find((v) => v.version === version);
  if (same) {
    if (canonical(same) === canonical(record)) return { version: same, replayed: true };
    throw new AlreadyExistsError(`${rules.kind.label} "${name}" already has a version ${version}, and it is a different one`, { name, version });
  }
  const next = (existing.at(-1)?.version ?? 0) + 1;
  if (version !== next) {
    throw new FailedPreconditionError(
      `${rules.kind.label} "${name}" would get version ${next}, not ${version}: ${version > next ? `import versions ${next} to ${version - 1} first` : 'it holds other versions'}`,
      { name, version, next_version: next },
    );
  }
  // The registry stamps a version with the context's clock: here, the time it was first created.
  const published = await rules.publish({ ...ctx, now: () => new Date(createdAt) }, database, metadata, wasm);
  if (published.version !== version) {
    throw new FailedPreconditionError(`${rules.kind.label} "${name}" was stored as version ${published.version}, not ${version}: another upload took the number meanwhile`, {
      name,
      version: published.version,
    });
  }
  return { version: published };
}

/** JSON with keys sorted at every level, to compare records whatever order their fields came in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}
