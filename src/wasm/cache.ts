/**
 * The on-disk cache of transpiled components. Each uploaded version is validated and
 * transpiled once; afterwards (including after a restart) preparing the same bytes only hashes
 * them and reads a small manifest.
 *
 * Layout: `<cacheDir>/<sha256 of the wasm>/` holding `component.mjs` (jco's ES module, renamed
 * so Node loads it as ESM wherever the cache lives), the core `.wasm` modules it instantiates,
 * and `manifest.json`, written last, whose presence marks the entry complete.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ComponentWorld } from './contract.ts';
import type { ComponentObserver } from './observer.ts';
import type { TranspiledComponent } from './transpile.ts';
import { assertComponentBinary, validateComponent } from './validate.ts';

export interface PreparedComponent {
  /** SHA-256 of the component bytes, hex: the identity of an uploaded version. */
  hash: string;
  world: ComponentWorld;
  /** Size of the component as uploaded. */
  sizeBytes: number;
  /** Directory of the transpiled files. */
  dir: string;
  /** The generated ES module, as a file URL ready for `import()`. */
  moduleUrl: string;
}

interface Manifest {
  hash: string;
  world: ComponentWorld;
  sizeBytes: number;
  /** The transpiled output depends on the jco version; another version means transpiling again. */
  transpiler: string;
  module: string;
  coreModules: string[];
  preparedAt: string;
}

const MODULE_FILE = 'component.mjs';
const MANIFEST_FILE = 'manifest.json';

export const TRANSPILER_VERSION = `jco@${jcoVersion()}`;

function jcoVersion(): string {
  // jco's package exports do not include package.json; find it next to the resolved entry.
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('@bytecodealliance/jco'));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@bytecodealliance/jco' && pkg.version) return pkg.version;
    } catch {
      // not this directory
    }
  }
  return 'unknown';
}

export function componentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const inFlight = new Map<string, Promise<PreparedComponent>>();

/**
 * Validates the component against `world` (throwing InvalidArgumentError when it is not
 * acceptable) and makes sure its transpiled form is in the cache.
 */
export function prepareComponent(
  bytes: Uint8Array,
  world: ComponentWorld,
  cacheDir: string,
  observer?: ComponentObserver,
): Promise<PreparedComponent> {
  assertComponentBinary(bytes);
  const hash = componentHash(bytes);
  const dir = join(cacheDir, hash);
  const flightKey = `${dir}\u0000${world}`;
  let pending = inFlight.get(flightKey);
  if (!pending) {
    pending = prepareUncached(bytes, world, hash, dir, observer).finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, pending);
  }
  return pending;
}

async function prepareUncached(
  bytes: Uint8Array,
  world: ComponentWorld,
  hash: string,
  dir: string,
  observer: ComponentObserver | undefined,
): Promise<PreparedComponent> {
  const manifest = await readManifest(dir);
  const hit = manifest !== undefined && manifest.world === world && manifest.transpiler === TRANSPILER_VERSION;
  observer?.transpileCache?.(hit);
  if (hit) return prepared(manifest, dir);
  const transpiled = await validateComponent(bytes, world);
  return prepared(await writeEntry(transpiled, { hash, world, sizeBytes: bytes.length }, dir), dir);
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function prepared(manifest: Manifest, dir: string): PreparedComponent {
  return {
    hash: manifest.hash,
    world: manifest.world,
    sizeBytes: manifest.sizeBytes,
    dir,
    moduleUrl: pathToFileURL(join(dir, manifest.module)).href,
  };
}

/**
 * Writes the entry into a fresh sibling directory and renames it into place, so a reader (or
 * another process preparing the same bytes) never sees a half-written entry.
 */
async function writeEntry(
  transpiled: TranspiledComponent,
  identity: Pick<Manifest, 'hash' | 'world' | 'sizeBytes'>,
  dir: string,
): Promise<Manifest> {
  const staging = `${dir}.${randomUUID()}.tmp`;
  await mkdir(staging, { recursive: true });
  try {
    const coreModules: string[] = [];
    let module: string | undefined;
    for (const [name, contents] of Object.entries(transpiled.files)) {
      if (name.endsWith('.d.ts')) continue; // only needed for validation
      if (name.includes('/') || name.includes('\\')) continue; // jco writes runtime files flat
      if (name.endsWith('.js')) {
        if (module) throw new Error(`jco produced more than one module (${module}, ${name})`);
        module = MODULE_FILE;
        await writeFile(join(staging, MODULE_FILE), contents);
      } else if (name.endsWith('.wasm')) {
        coreModules.push(name);
        await writeFile(join(staging, name), contents);
      }
    }
    if (!module) throw new Error('jco produced no JavaScript module');
    const manifest: Manifest = {
      ...identity,
      transpiler: TRANSPILER_VERSION,
      module,
      coreModules,
      preparedAt: new Date().toISOString(),
    };
    await writeFile(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    await rm(dir, { recursive: true, force: true }); // a stale entry (other jco version or world)
    try {
      await rename(staging, dir);
    } catch (err) {
      // Another process renamed its identical entry into place first: use that one.
      const existing = await readManifest(dir);
      if (existing?.transpiler !== TRANSPILER_VERSION) throw err;
    }
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
