/**
 * ComponentHost: the one entry point the rest of Factum uses to run components.
 *
 * A component is registered under a key chosen by the caller (say a database, view name and
 * version) with `prepare`, which validates and transpiles it once (cached on disk by content
 * hash). Calls then run in worker threads under time, memory and output limits.
 *
 * Instances are kept per key, not per content hash: two views that happen to upload identical
 * bytes still get separate instances, so nothing one of them leaves in its globals can reach
 * the other.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, NotFoundError } from '../core/errors.ts';
import type { StoredEvent } from '../core/events.ts';
import { prepareComponent, type PreparedComponent } from './cache.ts';
import { ComponentPool, type CallOutcome, type ComponentLimits } from './component-pool.ts';
import type { ComponentWorld } from './contract.ts';
import type { ComponentObserver } from './observer.ts';
import { ComponentFailedError, StateViewError, VIEW_ERROR_CODES, type ViewErrorKind } from './errors.ts';
import { payloadBytes, payloadOf, toWitParams, type EventPayload, type ViewParams } from './events.ts';
import { packEvents, type PackedEvents } from './event-batch.mjs';
import type { CommandInput, Decision, Rejection, ViewState } from './decisions.ts';
import type { ComponentRuntime } from './runtime.ts';

export type { ComponentLimits, PreparedComponent, ViewParams };

const MiB = 1024 * 1024;

/** Per call: 30 s, 100 MiB of linear memory, 16 MiB of result. */
export const DEFAULT_COMPONENT_LIMITS: ComponentLimits = {
  timeMs: 30_000,
  memoryBytes: 100 * MiB,
  outputBytes: 16 * MiB,
};

export interface ComponentHostOptions {
  /** Where transpiled components are kept; survives restarts. */
  cacheDir: string;
  limits?: Partial<ComponentLimits>;
  /** Worker threads, i.e. calls that can run at once. Default: 2, or 1 on a single core. */
  workers?: number;
  /** Instances each worker keeps ready. Default 16. */
  instancesPerWorker?: number;
  /** JS heap of each worker, MiB. Default 256. */
  workerHeapMb?: number;
  /**
   * `evolve` hands events to the component in batches of at most this many (default 1000)
   * and about an eighth of the memory limit in bytes: batching is much faster than one
   * event per call, and bounded batches keep each call within its time and memory limits.
   */
  maxEventsPerCall?: number;
  /** Told of every call and every lookup in the transpile cache (for the server's metrics). */
  observer?: ComponentObserver;
}

/** Rough size of an event in component memory beyond its data: attribute strings and slots. */
const EVENT_OVERHEAD_BYTES = 512;

export class ComponentHost implements ComponentRuntime {
  readonly limits: ComponentLimits;
  readonly #cacheDir: string;
  readonly #observer: ComponentObserver | undefined;
  readonly #pool: ComponentPool;
  readonly #maxEventsPerCall: number;
  readonly #maxBytesPerCall: number;
  readonly #components = new Map<string, PreparedComponent>();

  constructor(options: ComponentHostOptions) {
    this.limits = { ...DEFAULT_COMPONENT_LIMITS, ...options.limits };
    this.#cacheDir = options.cacheDir;
    this.#observer = options.observer;
    this.#maxEventsPerCall = Math.max(1, options.maxEventsPerCall ?? 1000);
    this.#maxBytesPerCall = Math.max(64 * 1024, Math.floor(this.limits.memoryBytes / 8));
    this.#pool = new ComponentPool({
      limits: this.limits,
      workers: options.workers ?? Math.min(2, availableParallelism()),
      instancesPerWorker: options.instancesPerWorker ?? 16,
      workerHeapMb: options.workerHeapMb ?? 256,
      observer: options.observer,
    });
  }

  /**
   * Validates `bytes` as a component of `world` (InvalidArgumentError if it is not one),
   * transpiles it unless the cache has it, and registers it as `key`, replacing what was
   * registered there before.
   */
  async prepare(key: string, bytes: Uint8Array, world: ComponentWorld = 'state-view'): Promise<PreparedComponent> {
    const prepared = await prepareComponent(bytes, world, this.#cacheDir, this.#observer);
    const previous = this.#components.get(key);
    this.#components.set(key, prepared);
    if (previous && previous.hash !== prepared.hash) this.#pool.release(key);
    return prepared;
  }

  has(key: string): boolean {
    return this.#components.has(key);
  }

  /** Forgets `key` and lets workers drop its instances. */
  release(key: string): void {
    this.#components.delete(key);
    this.#pool.release(key);
  }

  /** The state of the view before any event. */
  async initialState(key: string, params: ViewParams = {}): Promise<Uint8Array> {
    return this.#callView(key, 'initialState', [toWitParams(params)]);
  }

  /**
   * The state after `events`, which must be in revision order. Large lists are handed over
   * in several calls; an empty list returns `state` as it is.
   */
  async evolve(key: string, state: Uint8Array, events: readonly StoredEvent[], params: ViewParams = {}): Promise<Uint8Array> {
    this.#component(key, 'state-view');
    const witParams = toWitParams(params);
    let current = state;
    for (const batch of this.#batches(events)) {
      current = await this.#callView(key, 'evolve', [ownBytes(current), batch, witParams]);
    }
    return current;
  }

  /** The content a reader gets for `state`. */
  async render(key: string, state: Uint8Array, params: ViewParams = {}): Promise<Uint8Array> {
    return this.#callView(key, 'render', [ownBytes(state), toWitParams(params)]);
  }

  /**
   * Asks a state change what to do with a command, given the views it reads. A rejection is
   * the component's answer, not a failure: it is returned, not thrown.
   */
  async decide(key: string, command: CommandInput, views: ViewState[]): Promise<{ ok: true; decision: Decision } | { ok: false; rejection: Rejection }> {
    const outcome = await this.#pool.call(key, this.#component(key, 'state-change'), 'decide', [command, views]);
    if (outcome.ok) return { ok: true, decision: outcome.value as Decision };
    const rejection = outcome.payload as Partial<Rejection> | undefined;
    if (!rejection || typeof rejection.kind !== 'string' || typeof rejection.code !== 'string' || typeof rejection.message !== 'string') {
      throw new ComponentFailedError(`component "${key}" returned an unreadable rejection`, { key });
    }
    return { ok: false, rejection: rejection as Rejection };
  }

  /** Stops every worker; calls still pending reject with UnavailableError. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  #component(key: string, world: ComponentWorld): PreparedComponent {
    const component = this.#components.get(key);
    if (!component) throw new NotFoundError(`no component is prepared as "${key}"`, { key });
    if (component.world !== world) {
      throw new InvalidArgumentError(`component "${key}" is a ${component.world}, not a ${world}`, { key });
    }
    return component;
  }

  async #callView(key: string, fn: 'initialState' | 'evolve' | 'render', args: unknown[]): Promise<Uint8Array> {
    const outcome: CallOutcome = await this.#pool.call(key, this.#component(key, 'state-view'), fn, args);
    if (!outcome.ok) throw viewError(key, fn, outcome.payload);
    if (!(outcome.value instanceof Uint8Array)) {
      throw new ComponentFailedError(`component "${key}" returned something other than bytes from ${fn}`, { key });
    }
    return outcome.value;
  }

  /** `events` in batches for one call each, packed for the worker (event-batch.mjs). */
  *#batches(events: readonly StoredEvent[]): Generator<PackedEvents> {
    let start = 0;
    let payloads: EventPayload[] = [];
    let payloadTotal = 0;
    for (let i = 0; i < events.length; i++) {
      const payload = payloadOf(events[i]!);
      const payloadSize = payloadBytes(payload);
      // What the batch would hold in component memory with this event: payloads and overheads.
      const bytes = payloadTotal + payloadSize + (payloads.length + 1) * EVENT_OVERHEAD_BYTES;
      if (payloads.length > 0 && (payloads.length >= this.#maxEventsPerCall || bytes > this.#maxBytesPerCall)) {
        yield packEvents(events.slice(start, i), payloads, payloadTotal);
        start = i;
        payloads = [];
        payloadTotal = 0;
      }
      payloads.push(payload);
      payloadTotal += payloadSize;
    }
    if (payloads.length > 0) yield packEvents(events.slice(start), payloads, payloadTotal);
  }
}

/**
 * Bytes that own their buffer. Posting a view to a worker copies its whole underlying buffer,
 * which for a slice of a large buffer (a pooled Buffer, a region of a file) is far more than
 * the view.
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

function viewError(key: string, fn: string, payload: unknown): Error {
  const { kind, message } = (payload ?? {}) as { kind?: unknown; message?: unknown };
  if (typeof kind === 'string' && Object.hasOwn(VIEW_ERROR_CODES, kind) && typeof message === 'string') {
    return new StateViewError(kind as ViewErrorKind, message, { key, function: fn });
  }
  return new ComponentFailedError(`component "${key}" returned an unreadable error from ${fn}`, { key });
}
