/**
 * Builds a component from C: clang (wasm32-wasi, with wasi-libc for the string functions)
 * compiles every `.c` file of the source directory into one core module, and jco's bindings of
 * wasm-tools embed the world from the WIT file and wrap the module into a component. The C code
 * writes the canonical-ABI glue itself (see order-summary-c/abi.h); wit-component checks the
 * module's exports against the world, so glue that does not fit fails here.
 *
 * Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32 (.ci/run installs them).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const MISSING_TOOLCHAIN =
  'building a C component needs clang for wasm32-wasi: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32';

/** Flags for a component's core module: no start files and no entry point, since the host calls exports only. */
const CLANG_FLAGS = ['--target=wasm32-wasi', '-O2', '-Wall', '-Wextra', '-nostartfiles', '-Wl,--no-entry', '-Wl,--strip-debug'];

/** Identifies the toolchain in a build's cache key: clang's version line and the flags. */
export async function clangToolchainId(): Promise<string> {
  try {
    const { stdout } = await run('clang', ['--version']);
    return `${stdout.split('\n')[0]!.trim()} ${CLANG_FLAGS.join(' ')}`;
  } catch {
    throw new Error(MISSING_TOOLCHAIN);
  }
}

export async function compileCComponent(sourceDir: string, witPath: string, world: string): Promise<Uint8Array> {
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
  const embedded = await componentEmbed({
    binary: await compileCCoreModule(sourceDir),
    witSource: await readFile(witPath, 'utf8'),
    world,
  });
  return await componentNew(embedded);
}

/** The core module alone, before it becomes a component: what tests of the hand-written glue drive. */
export async function compileCCoreModule(sourceDir: string): Promise<Uint8Array<ArrayBuffer>> {
  const sources = (await readdir(sourceDir)).filter((file) => file.endsWith('.c')).sort().map((file) => join(sourceDir, file));
  const work = await mkdtemp(join(tmpdir(), 'factum-c-build-'));
  try {
    const coreModule = join(work, 'core.wasm');
    try {
      await run('clang', [...CLANG_FLAGS, '-o', coreModule, ...sources]);
    } catch (err) {
      const { code, stderr } = err as { code?: string; stderr?: string };
      throw new Error(code === 'ENOENT' ? MISSING_TOOLCHAIN : `clang failed:\n${stderr ?? String(err)}`);
    }
    return new Uint8Array(await readFile(coreModule));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
