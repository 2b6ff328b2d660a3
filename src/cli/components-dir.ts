/**
 * A database's components beside an export, one directory per kind and name:
 *   <dir>/state-views/<name>/<version>.json    the version as the API lists it
 *   <dir>/state-views/<name>/<version>.wasm    its component
 *   <dir>/state-changes/<name>/…               the same for state changes
 * Export writes every version; import sends them oldest first, state views before the state
 * changes that read them, each under its own number and creation time.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, databasePath, type ApiClient } from './api-client.ts';
import { CommandError } from './failure.ts';

interface Kind {
  /** The directory, the API's path segment and its label. */
  segment: 'state-views' | 'state-changes';
  label: string;
  /** Where the API lists a name's versions. */
  versionsPath(database: string, name: string): string;
}

const componentPath = (database: string, kind: Kind, name: string, version: number) => `${databasePath(database)}/${kind.segment}/${name}/versions/${version}/component`;

const KINDS: Kind[] = [
  { segment: 'state-views', label: 'state view', versionsPath: (db, name) => `${databasePath(db)}/state-views/${name}/versions` },
  { segment: 'state-changes', label: 'state change', versionsPath: (db, name) => `${databasePath(db)}/state-changes/${name}` },
];

interface VersionRecord {
  version: number;
  component_sha256: string;
}

export interface ComponentCount {
  versions: number;
  /** At import: versions that were already there, identical. */
  alreadyThere: number;
}

export async function exportComponents(api: ApiClient, database: string, dir: string): Promise<ComponentCount> {
  const details = await api.json<{ state_views: string[]; state_changes: string[] }>('GET', databasePath(database));
  let versions = 0;
  // Made even when empty: an import finds it and knows there were no components.
  await mkdir(dir, { recursive: true });
  for (const kind of KINDS) {
    for (const name of kind.segment === 'state-views' ? details.state_views : details.state_changes) {
      const { versions: records } = await api.json<{ versions: VersionRecord[] }>('GET', kind.versionsPath(database, name));
      const nameDir = join(dir, kind.segment, name);
      await mkdir(nameDir, { recursive: true });
      for (const record of records) {
        const response = await api.send('GET', componentPath(database, kind, name, record.version));
        const wasm = new Uint8Array(await response.arrayBuffer());
        if (createHash('sha256').update(wasm).digest('hex') !== record.component_sha256) {
          throw new CommandError(`${kind.label} "${name}" version ${record.version}: the downloaded component does not match its sha-256`);
        }
        await writeAtomically(join(nameDir, `${record.version}.wasm`), wasm);
        await writeAtomically(join(nameDir, `${record.version}.json`), `${JSON.stringify(record, null, 2)}\n`);
        versions++;
      }
    }
  }
  return { versions, alreadyThere: 0 };
}

export async function importComponents(api: ApiClient, database: string, dir: string): Promise<ComponentCount> {
  const count: ComponentCount = { versions: 0, alreadyThere: 0 };
  for (const kind of KINDS) {
    for (const name of (await entries(join(dir, kind.segment))).sort()) {
      const nameDir = join(dir, kind.segment, name);
      const numbers = (await entries(nameDir))
        .filter((f) => /^\d+\.json$/.test(f))
        .map((f) => Number(f.slice(0, -5)))
        .sort((a, b) => a - b);
      for (const version of numbers) {
        const file = join(nameDir, `${version}.json`);
        const form = new FormData();
        form.append('metadata', await readFile(file, 'utf8'));
        form.append('wasm', new Blob([await readFile(join(nameDir, `${version}.wasm`))], { type: 'application/wasm' }), `${name}.wasm`);
        try {
          const response = await api.send('POST', `${databasePath(database)}/import/${kind.segment}`, form);
          if (response.status === 200) count.alreadyThere++;
          count.versions++;
        } catch (error) {
          if (error instanceof ApiError) throw new CommandError(`${file}: ${error.message}`);
          throw error;
        }
      }
    }
  }
  return count;
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

/** Written aside and renamed, so a component file is whole or absent, even if the export is stopped. */
async function writeAtomically(path: string, content: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.partial`, content);
  await rename(`${path}.partial`, path);
}
