// Runs one jco task off the main thread and exits. Transpiling a ~12 MB component keeps a core
// busy for about a second, which the server's event loop must not wait out; and the input is
// an untrusted upload, so a pathological one can be stopped by terminating this worker.
//
// Plain JavaScript on purpose: worker threads are started by Node itself, outside of tsx or
// vitest, so this file must need no TypeScript loader.
//
// Tasks (workerData):
//   { task: 'transpile', bytes }             -> the uploaded component, transpiled
//   { task: 'transpile-world', wit, world }  -> a stand-in component built from the WIT world
//                                               alone, transpiled: what a valid upload must match
// Reply: { ok: true, result: { files, imports, exports } } or { ok: false, message }.
import { parentPort, workerData } from 'node:worker_threads';
import { componentEmbed, componentNew, transpile } from '@bytecodealliance/jco';

// Every component is transpiled under the same name so that generated file names (and the
// declarations compared at validation) do not depend on what the uploader called it.
const NAME = 'component';

async function transpileBytes(bytes) {
  const { files, imports, exports } = await transpile(bytes, {
    name: NAME,
    instantiation: { tag: 'async' },
    // TypeScript declarations are wanted: validation compares them, as the component's
    // interface, with the world's (see validate.ts). They are not written to the cache.
    quiet: true,
  });
  return { files, imports, exports };
}

async function run(data) {
  switch (data.task) {
    case 'transpile':
      return transpileBytes(new Uint8Array(data.bytes));
    case 'transpile-world': {
      // A "dummy" core module implements the world with placeholder bodies; wrapping it gives a
      // component with exactly the world's imports and exports.
      const core = await componentEmbed({ dummy: true, witSource: data.wit, world: data.world });
      return transpileBytes(await componentNew(core));
    }
    default:
      throw new Error(`unknown task ${data.task}`);
  }
}

try {
  const result = await run(workerData);
  parentPort.postMessage({ ok: true, result });
} catch (err) {
  const message = err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err);
  parentPort.postMessage({ ok: false, message });
}
