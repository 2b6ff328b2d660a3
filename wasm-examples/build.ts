/**
 * Builds the example components (and test fixtures): from JavaScript with componentize-js, and
 * from C with clang and jco (see compile-c.ts).
 *
 *   npm run build:examples            build every example, print where each one is
 *
 * A JavaScript build takes about ten seconds and yields a ~12 MB component, so outputs are
 * cached under `.cache/wasm/` (never committed), named by a hash of everything that goes into
 * them: the source directory, the WIT, the world, the enabled features and the toolchain's
 * version. Unchanged inputs are not rebuilt.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WIT_FILE } from '../src/wasm/contract.ts';
import { clangToolchainId, compileCComponent } from './compile-c.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const EXAMPLES_DIR = join(ROOT, 'wasm-examples');
export const BUILD_CACHE_DIR = join(ROOT, '.cache', 'wasm');

/**
 * The examples, each a directory holding its source: `view.js` for views, `decide.js` for state
 * changes; `view.c` (with the other `.c` files beside it) for a view compiled from C.
 */
const EXAMPLE_SOURCES = {
  'order-summary': { file: 'view.js', world: 'state-view' },
  'order-summary-c': { file: 'view.c', world: 'state-view' },
  'customer-profile': { file: 'view.js', world: 'state-view' },
  'process-order': { file: 'decide.js', world: 'state-change' },
} as const;
export type ExampleName = keyof typeof EXAMPLE_SOURCES;
export const EXAMPLES = Object.keys(EXAMPLE_SOURCES) as ExampleName[];

/**
 * Engine features (WASI-backed) compiled into a component. Components for Factum have none:
 * with all of them disabled the component imports nothing.
 */
export const ALL_FEATURES = ['stdio', 'random', 'clocks', 'http', 'fetch-event'] as const;
export type EngineFeature = (typeof ALL_FEATURES)[number];

export interface ComponentSource {
  /** Names the output file. */
  name: string;
  /**
   * The JS module to componentize, or a `.c` file to compile with the other `.c` files of its
   * directory; everything in its directory counts as its source.
   */
  sourcePath: string;
  world: string;
  /** Defaults to the contract, wit/factum.wit. */
  witPath?: string;
  /** Features to keep; default none. Only test fixtures keep any. */
  features?: readonly EngineFeature[];
}

/** Builds (or finds in the cache) one example component; returns the path of the .wasm file. */
export function buildExample(name: ExampleName): Promise<string> {
  const { file, world } = EXAMPLE_SOURCES[name];
  return buildComponent({ name, sourcePath: join(EXAMPLES_DIR, name, file), world });
}

/** Builds (or finds in the cache) a component from JS; returns the path of the .wasm file. */
export async function buildComponent(source: ComponentSource): Promise<string> {
  const witPath = source.witPath ?? WIT_FILE;
  const features = [...(source.features ?? [])].sort();
  const fromC = source.sourcePath.endsWith('.c');
  if (fromC && features.length > 0) throw new Error(`${source.name}: engine features apply to JavaScript components only`);
  const toolchain = fromC ? `${await clangToolchainId()}, jco ${packageVersion('jco')}` : `componentize-js ${packageVersion('componentize-js')}`;
  const inputs = await hashInputs(dirname(source.sourcePath), witPath, source.world, features, toolchain);
  const output = join(BUILD_CACHE_DIR, `${source.name}-${inputs.slice(0, 16)}.wasm`);
  if (existsSync(output)) return output;
  await mkdir(BUILD_CACHE_DIR, { recursive: true });
  // Test files run in parallel processes; one builds while the others wait for its output.
  return withLock(`${output}.lock`, async () => {
    if (existsSync(output)) return output;
    const component = fromC
      ? await compileCComponent(dirname(source.sourcePath), witPath, source.world)
      : await componentize(source.sourcePath, witPath, source.world, features);
    const staging = `${output}.${randomUUID()}.tmp`;
    await writeFile(staging, component);
    await rename(staging, output);
    await removeOlderBuilds(source.name, output);
    return output;
  });
}

/** Builds of the same component from earlier inputs: ~12 MB each, never needed again. */
async function removeOlderBuilds(name: string, current: string): Promise<void> {
  const pattern = new RegExp(`^${name.replace(/[^a-z0-9]/gi, '\\$&')}-[0-9a-f]{16}\\.wasm$`);
  for (const file of await readdir(BUILD_CACHE_DIR)) {
    const path = join(BUILD_CACHE_DIR, file);
    if (pattern.test(file) && path !== current) await rm(path, { force: true });
  }
}

async function hashInputs(sourceDir: string, witPath: string, world: string, features: string[], toolchain: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`${toolchain}\0world ${world}\0features ${features.join(',')}\0`);
  hash.update(await readFile(witPath));
  for (const file of await listFiles(sourceDir)) {
    hash.update(`\0${relative(sourceDir, file)}\0`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** The version of a @bytecodealliance package as installed. */
function packageVersion(name: 'componentize-js' | 'jco'): string {
  // Their packages export only ESM entries, so look for the package the way Node would.
  for (let dir = EXAMPLES_DIR; ; dir = dirname(dir)) {
    const pkg = join(dir, 'node_modules', '@bytecodealliance', name, 'package.json');
    if (existsSync(pkg)) return (createRequire(import.meta.url)(pkg) as { version: string }).version;
    if (dirname(dir) === dir) return 'unknown';
  }
}

async function componentize(
  sourcePath: string,
  witPath: string,
  worldName: string,
  features: readonly string[],
): Promise<Uint8Array> {
  const { componentize: build } = await import('@bytecodealliance/componentize-js');
  const options = {
    sourcePath,
    // The WIT goes in as text: componentize-js reads paths through a WASI filesystem that
    // cannot see the host's files here. The contract is therefore a single file.
    witWorld: await readFile(witPath, 'utf8'),
    worldName,
    disableFeatures: ALL_FEATURES.filter((feature) => !features.includes(feature)),
  };
  const { component } = await build(options);
  return component;
}

/** Holds an exclusive lock file while `body` runs; a lock older than 10 minutes is stale. */
async function withLock<T>(lockPath: string, body: () => Promise<T>): Promise<T> {
  const staleMs = 10 * 60_000;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > staleMs) await rm(lockPath, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function main(): Promise<void> {
  for (const name of EXAMPLES) {
    const started = performance.now();
    const path = await buildExample(name);
    const { size } = await stat(path);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const shown = size >= 1048576 ? `${(size / 1048576).toFixed(1)} MiB` : `${(size / 1024).toFixed(0)} KiB`;
    console.log(`${name}: ${relative(ROOT, path)} (${shown}, ${seconds} s)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
