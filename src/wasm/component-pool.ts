/**
 * A small pool of worker threads that run component calls (see component-worker.mjs).
 *
 * Each worker runs one call at a time, so the deadline of a call is simply a timer started
 * when the call is handed to its worker: when it fires, the worker is terminated (the only way
 * to stop a synchronous WebAssembly call) and the call rejects. The next call gets a fresh
 * worker; other workers, and the components they hold, are unaffected. The deadline is
 * wall-clock time on a worker that does nothing else, which is CPU time unless the machine is
 * overloaded.
 */
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../core/errors.ts';
import type { PreparedComponent } from './cache.ts';
import {
  ComponentFailedError,
  ComponentMemoryLimitError,
  ComponentOutputLimitError,
  ComponentTimeLimitError,
} from './errors.ts';
import type { ComponentCallOutcome, ComponentFunction, ComponentObserver } from './observer.ts';

export interface ComponentLimits {
  /** How long one call may run. */
  timeMs: number;
  /** Linear memory one component instance may use (all its memories together). */
  memoryBytes: number;
  /** Bytes one call may return (a state, a rendered view). */
  outputBytes: number;
}

export interface ComponentPoolOptions {
  limits: ComponentLimits;
  /** Calls that can run at once; also how many components a runaway call can delay: none. */
  workers: number;
  /** Component instances each worker keeps ready (least recently used are dropped). */
  instancesPerWorker: number;
  /**
   * JS heap of a worker, in MiB: bounds the glue code's copies of arguments and results.
   * Linear memory is bounded separately (memoryBytes).
   */
  workerHeapMb: number;
  observer?: ComponentObserver;
}

/** A call's outcome when it ran to completion: a value, or the component's own error variant. */
export type CallOutcome = { ok: true; value: unknown } | { ok: false; payload: unknown };

type Failure = { kind: 'error-result' | 'memory' | 'output' | 'failed'; message: string; payload?: unknown; memoryBytes?: number };
type WorkerReply =
  | { id: number; ready: true }
  | { id: number; ok: true; value: unknown; memoryBytes: number }
  | { id: number; ok: false; failure: Failure };

interface QueuedCall {
  id: number;
  key: string;
  message: Record<string, unknown>;
  resolve: (outcome: CallOutcome) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Keys this worker has run (it may have dropped some instances since): calls for them go here first. */
  keys: Set<string>;
  running?: QueuedCall & { timer: NodeJS.Timeout };
}

const WORKER_FILE = new URL('./component-worker.mjs', import.meta.url);

/**
 * A worker keeps instances it holds between calls within this many times the memory limit of
 * one instance (instances typically use a fraction of their limit).
 */
const IDLE_INSTANCES_MEMORY_FACTOR = 4;

/**
 * Time allowed, on top of the call's own limit, for a worker to start and load, compile and
 * instantiate a component: host work (a fraction of a second, more on a busy machine) that
 * should not eat into the component's time. Its start function runs then too, so a component
 * that loops there is still stopped.
 */
const LOAD_ALLOWANCE_MS = 30_000;

export class ComponentPool {
  readonly #options: ComponentPoolOptions;
  readonly #slots: Array<Slot | undefined>;
  readonly #queue: QueuedCall[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: ComponentPoolOptions) {
    this.#options = options;
    this.#slots = new Array<Slot | undefined>(Math.max(1, options.workers)).fill(undefined);
  }

  /**
   * Runs `fn(...args)` of the component prepared as `key`. Rejects with a limit error, a
   * ComponentFailedError, or UnavailableError once the pool is closed.
   */
  call(key: string, component: PreparedComponent, fn: ComponentFunction, args: unknown[]): Promise<CallOutcome> {
    const observer = this.#options.observer;
    if (!observer?.called) return this.#call(key, component, fn, args);
    const start = performance.now();
    const seconds = () => (performance.now() - start) / 1000;
    return this.#call(key, component, fn, args).then(
      (outcome) => {
        observer.called?.(fn, outcome.ok ? 'ok' : 'rejected', seconds());
        return outcome;
      },
      (error: unknown) => {
        observer.called?.(fn, failureOutcome(error), seconds());
        throw error;
      },
    );
  }

  #call(key: string, component: PreparedComponent, fn: string, args: unknown[]): Promise<CallOutcome> {
    if (this.#closed) return Promise.reject(new UnavailableError('the component host is closed'));
    return new Promise<CallOutcome>((resolve, reject) => {
      const id = this.#nextId++;
      const message = {
        type: 'call',
        id,
        key,
        component: { hash: component.hash, moduleUrl: component.moduleUrl, dir: component.dir },
        fn,
        args,
      };
      this.#queue.push({ id, key, message, resolve, reject });
      this.#dispatch();
    });
  }

  /** Lets workers drop their instance of `key`. */
  release(key: string): void {
    for (const slot of this.#slots) {
      if (slot?.keys.delete(key)) slot.worker.postMessage({ type: 'release', key });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closing = new UnavailableError('the component host is closed');
    for (const queued of this.#queue.splice(0)) queued.reject(closing);
    await Promise.all(
      this.#slots.map(async (slot, index) => {
        if (!slot) return;
        this.#slots[index] = undefined;
        if (slot.running) {
          clearTimeout(slot.running.timer);
          slot.running.reject(closing);
        }
        await slot.worker.terminate();
      }),
    );
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const idle = this.#slots.map((slot, index) => ({ slot, index })).filter(({ slot }) => !slot?.running);
      if (idle.length === 0) return;
      const next = this.#queue[0]!;
      // Prefer a worker that already holds the component: instantiating elsewhere costs time.
      const chosen = idle.find(({ slot }) => slot?.keys.has(next.key)) ?? idle.find(({ slot }) => slot) ?? idle[0]!;
      this.#queue.shift();
      const slot = chosen.slot ?? this.#startWorker(chosen.index);
      this.#run(slot, next);
    }
  }

  #startWorker(index: number): Slot {
    const { limits, instancesPerWorker, workerHeapMb } = this.#options;
    const worker = new Worker(WORKER_FILE, {
      workerData: {
        memoryBytes: limits.memoryBytes,
        outputBytes: limits.outputBytes,
        maxInstances: instancesPerWorker,
        budgetBytes: limits.memoryBytes * IDLE_INSTANCES_MEMORY_FACTOR,
      },
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb },
    });
    const slot: Slot = { worker, keys: new Set() };
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (err: Error & { code?: string }) => {
      const failure =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new ComponentMemoryLimitError(
              `a component call used more than the worker's ${workerHeapMb} MiB of JavaScript heap`,
              { limit_bytes: workerHeapMb * 1048576 },
            )
          : new ComponentFailedError(`the component worker failed: ${err.message}`);
      this.#retire(slot, failure);
    });
    worker.on('exit', (code) => this.#retire(slot, new ComponentFailedError(`the component worker exited (code ${code})`)));
    worker.unref(); // idle workers do not keep the process alive
    this.#slots[index] = slot;
    return slot;
  }

  #run(slot: Slot, call: QueuedCall): void {
    // A worker that has not seen this key yet will load it first (see LOAD_ALLOWANCE_MS); it
    // says when it is ready and the call's own deadline starts.
    const loading = !slot.keys.has(call.key);
    slot.running = { ...call, timer: this.#deadline(slot, call, loading ? LOAD_ALLOWANCE_MS : 0) };
    slot.keys.add(call.key);
    slot.worker.ref(); // a pending call does keep it alive
    slot.worker.postMessage(call.message);
  }

  #deadline(slot: Slot, call: QueuedCall, extraMs: number): NodeJS.Timeout {
    const { timeMs } = this.#options.limits;
    return setTimeout(() => {
      this.#retire(
        slot,
        new ComponentTimeLimitError(`component "${call.key}" ran longer than its time limit of ${timeMs} ms and was stopped`, {
          key: call.key,
          limit_ms: timeMs,
        }),
      );
    }, timeMs + extraMs);
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const call = slot.running;
    if (!call || call.id !== reply.id) return;
    clearTimeout(call.timer);
    if ('ready' in reply) {
      call.timer = this.#deadline(slot, call, 0);
      return;
    }
    slot.running = undefined;
    slot.worker.unref();
    if (reply.ok) {
      call.resolve({ ok: true, value: reply.value });
    } else {
      const { failure } = reply;
      if (failure.kind === 'error-result') call.resolve({ ok: false, payload: failure.payload });
      else call.reject(this.#failureError(call.key, failure));
      if (failure.kind === 'failed' || failure.kind === 'memory') slot.keys.delete(call.key);
    }
    this.#dispatch();
  }

  #failureError(key: string, failure: Failure): Error {
    const details = { key, memory_bytes: failure.memoryBytes };
    const { limits } = this.#options;
    switch (failure.kind) {
      case 'memory':
        return new ComponentMemoryLimitError(`component "${key}": ${failure.message}`, {
          ...details,
          limit_bytes: limits.memoryBytes,
        });
      case 'output':
        return new ComponentOutputLimitError(`component "${key}": ${failure.message}`, {
          ...details,
          limit_bytes: limits.outputBytes,
        });
      default:
        return new ComponentFailedError(`component "${key}" failed: ${failure.message}`, details);
    }
  }

  /** Stops a worker (if it still runs), fails its call, and frees its place for a fresh one. */
  #retire(slot: Slot, error: Error): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return; // already retired
    this.#slots[index] = undefined;
    if (slot.running) {
      clearTimeout(slot.running.timer);
      slot.running.reject(error);
      slot.running = undefined;
    }
    void slot.worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}

function failureOutcome(error: unknown): ComponentCallOutcome {
  if (error instanceof ComponentTimeLimitError) return 'timeout';
  if (error instanceof ComponentMemoryLimitError) return 'memory';
  if (error instanceof ComponentOutputLimitError) return 'output';
  if (error instanceof UnavailableError) return 'unavailable';
  return 'failed';
}
