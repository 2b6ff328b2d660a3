/**
 * jco turns a component into a JavaScript module plus the core WebAssembly modules it
 * instantiates. Each task runs in a short-lived worker (see jco-worker.mjs) under a deadline.
 */
import { Worker } from 'node:worker_threads';
import { readWit, type ComponentWorld } from './contract.ts';

export interface TranspiledComponent {
  /** File name → contents: `component.js`, `component.core*.wasm`, and `.d.ts` declarations. */
  files: Record<string, Uint8Array>;
  /** Interfaces the component imports (each one a capability it would need from the host). */
  imports: string[];
  /** Exported functions and instances, with jco's JavaScript (camelCase) names. */
  exports: Array<[string, 'function' | 'instance']>;
}

/** Generous: a 12 MB component takes about a second. */
const TRANSPILE_DEADLINE_MS = 120_000;
/** jco holds the component, its core modules and the generated JS in memory at once. */
const TRANSPILE_HEAP_MB = 1024;

const JCO_WORKER = new URL('./jco-worker.mjs', import.meta.url);

type WorkerReply = { ok: true; result: TranspiledComponent } | { ok: false; message: string };

function runJcoTask(task: Record<string, unknown>): Promise<TranspiledComponent> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(JCO_WORKER, {
      workerData: task,
      resourceLimits: { maxOldGenerationSizeMb: TRANSPILE_HEAP_MB },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`transpiling took longer than ${TRANSPILE_DEADLINE_MS} ms`))),
      TRANSPILE_DEADLINE_MS,
    );
    worker.once('message', (reply: WorkerReply) =>
      settle(() => (reply.ok ? resolve(reply.result) : reject(new Error(reply.message)))),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`transpiler worker exited with code ${code}`))));
  });
}

/** Transpiles component bytes. Rejects (with jco's message) if they are not a valid component. */
export function transpileComponent(bytes: Uint8Array): Promise<TranspiledComponent> {
  return runJcoTask({ task: 'transpile', bytes });
}

const worldCache = new Map<ComponentWorld, Promise<TranspiledComponent>>();

/**
 * A placeholder component built from the WIT world alone, transpiled. Its declarations are the
 * world's interface as jco renders it: a valid upload must render identically. Computed once
 * per process.
 */
export function transpileWorld(world: ComponentWorld): Promise<TranspiledComponent> {
  let cached = worldCache.get(world);
  if (!cached) {
    cached = readWit().then((wit) => runJcoTask({ task: 'transpile-world', wit, world }));
    cached.catch(() => worldCache.delete(world));
    worldCache.set(world, cached);
  }
  return cached;
}

/** The TypeScript declarations jco generated: the component's interface, in a comparable form. */
export function declarationFiles(component: TranspiledComponent): Record<string, string> {
  const decoder = new TextDecoder();
  return Object.fromEntries(
    Object.entries(component.files)
      .filter(([name]) => name.endsWith('.d.ts'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, bytes]) => [name, decoder.decode(bytes)]),
  );
}
