// A worker thread that runs components, one call at a time. The parent (component-pool.ts)
// owns the deadline: a call is synchronous in here, so a component that never returns can only
// be stopped by terminating this thread. Memory is bounded in here, in two ways:
// - every linear memory gets a declared maximum before its module is compiled, so a
//   `memory.grow` past the limit fails inside the component (which then traps) instead of
//   taking memory from the server. A worker's resourceLimits would not help: they cap the JS
//   heap, and linear memory lives outside it;
// - after each call the instance's memories are measured, and an instance over the limit is
//   dropped; one over half of it is replaced before its next call (see RECYCLE_AT).
//
// Plain JavaScript on purpose: worker threads are started by Node itself, outside of tsx or
// vitest, so this file must need no TypeScript loader.
//
// workerData: { memoryBytes, outputBytes, maxInstances, budgetBytes }
// Messages in:
//   { type: 'call', id, key, component: { hash, moduleUrl, dir }, fn, args }
//     an argument packed by event-batch.mjs is unpacked into the event records it holds
//   { type: 'release', key }
// Messages out:
//   { id, ready: true }  after a call had to load or instantiate its component, just before
//                        the component is called
//   { id, ok: true, value, memoryBytes }
//   { id, ok: false, failure: { kind, message, payload?, memoryBytes? } }
//     kind: 'error-result' (the component returned its error variant: payload),
//           'memory' | 'output' (a limit), 'failed' (a trap or anything else)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { isPackedEvents, unpackEvents } from './event-batch.mjs';

const PAGE_BYTES = 65536;
const {
  memoryBytes: MEMORY_LIMIT,
  outputBytes: OUTPUT_LIMIT,
  maxInstances: MAX_INSTANCES,
  // Linear memory all instances of this worker may hold between calls; idle instances beyond
  // it are dropped, least recently used first.
  budgetBytes: BUDGET,
} = workerData;

/** A trap with memory this close to the limit is taken to be a failed allocation. */
const NEAR_LIMIT = 0.9;

/**
 * After a call, an instance using more than this share of the limit is replaced by a fresh one
 * for the next call. A JavaScript component's engine collects garbage lazily and linear memory
 * never shrinks, so over many calls an instance fills up with garbage and can run out of
 * memory that a fresh instance would not need. Components keep no state between calls (the
 * host passes it in), so a fresh instance loses nothing and costs about ten milliseconds.
 */
const RECYCLE_AT = 0.5;

/** hash -> Promise<{ instantiate, modules: Map<file, WebAssembly.Module> }>, least recently used first. */
const loaded = new Map();
/** key -> { hash, root, memories }, least recently used first. */
const instances = new Map();

class LimitFailure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function touch(map, key, value) {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_INSTANCES) map.delete(map.keys().next().value);
}

// ---- WebAssembly binary editing: declare a maximum on every defined memory --------------

function readLeb(bytes, pos) {
  let result = 0;
  let scale = 1;
  let byte;
  do {
    byte = bytes[pos++];
    if (byte === undefined) throw new Error('truncated WebAssembly module');
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  return [result, pos];
}

function writeLeb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** Calls `visit(payloadStart, payloadEnd)` for each memory section of a core module. */
function eachSection(bytes, id, visit) {
  let pos = 8; // magic and version
  while (pos < bytes.length) {
    const sectionStart = pos;
    const sectionId = bytes[pos++];
    let size;
    [size, pos] = readLeb(bytes, pos);
    if (sectionId === id) visit(sectionStart, pos, pos + size);
    pos += size;
  }
}

function countMemories(bytes) {
  let count = 0;
  eachSection(bytes, 5, (_start, payload) => {
    count += readLeb(bytes, payload)[0];
  });
  return count;
}

/**
 * Returns the module with every memory it defines limited to `maxPages`. Memories it imports
 * are defined (and limited) in another core module of the same component.
 */
function capMemories(bytes, maxPages) {
  let result = bytes;
  eachSection(bytes, 5, (sectionStart, payloadStart, payloadEnd) => {
    let [count, pos] = readLeb(bytes, payloadStart);
    const payload = [...writeLeb(count)];
    for (let i = 0; i < count; i++) {
      let flags;
      let min;
      let max;
      [flags, pos] = readLeb(bytes, pos);
      if (flags & 0x08) throw new LimitFailure('failed', 'memories with custom page sizes are not supported');
      [min, pos] = readLeb(bytes, pos);
      if (flags & 0x01) [max, pos] = readLeb(bytes, pos);
      if (min > maxPages) {
        throw new LimitFailure(
          'memory',
          `the component starts with ${mib(min * PAGE_BYTES)} of memory, more than its limit of ${mib(maxPages * PAGE_BYTES)}`,
        );
      }
      payload.push(...writeLeb(flags | 0x01), ...writeLeb(min), ...writeLeb(Math.min(max ?? maxPages, maxPages)));
    }
    const section = new Uint8Array([5, ...writeLeb(payload.length), ...payload]);
    const out = new Uint8Array(sectionStart + section.length + (bytes.length - payloadEnd));
    out.set(bytes.subarray(0, sectionStart), 0);
    out.set(section, sectionStart);
    out.set(bytes.subarray(payloadEnd), sectionStart + section.length);
    result = out;
  });
  return result;
}

function mib(bytes) {
  return `${Math.round((bytes / 1048576) * 10) / 10} MiB`;
}

// ---- loading and instantiating ----------------------------------------------------------

async function loadComponent(component) {
  const { instantiate } = await import(component.moduleUrl);
  const { coreModules } = JSON.parse(await readFile(join(component.dir, 'manifest.json'), 'utf8'));
  const binaries = await Promise.all(coreModules.map((file) => readFile(join(component.dir, file))));
  // The memory limit is shared by all memories the component defines.
  const memoryCount = binaries.reduce((sum, bytes) => sum + countMemories(bytes), 0);
  const pagesEach = Math.floor(MEMORY_LIMIT / PAGE_BYTES / Math.max(1, memoryCount));
  const modules = new Map();
  for (const [index, file] of coreModules.entries()) {
    modules.set(file, await WebAssembly.compile(capMemories(binaries[index], pagesEach)));
  }
  return { instantiate, modules };
}

function getLoaded(component) {
  let pending = loaded.get(component.hash);
  if (!pending) {
    pending = loadComponent(component);
    pending.catch(() => loaded.delete(component.hash));
  }
  touch(loaded, component.hash, pending);
  return pending;
}

async function getInstance(key, component) {
  const cached = instances.get(key);
  if (cached && cached.hash === component.hash) {
    touch(instances, key, cached);
    return cached;
  }
  const { instantiate, modules } = await getLoaded(component);
  const memories = [];
  const instantiateCore = async (module, imports) => {
    const instance = await WebAssembly.instantiate(module, imports);
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory && !memories.includes(value)) memories.push(value);
    }
    return instance;
  };
  const getCoreModule = (file) => {
    const module = modules.get(file);
    if (!module) throw new Error(`the component has no core module ${file}`);
    return module;
  };
  // Validation made sure the component imports nothing, so it is given nothing.
  const root = await instantiate(getCoreModule, Object.freeze({}), instantiateCore);
  const entry = { hash: component.hash, root, memories };
  touch(instances, key, entry);
  return entry;
}

function memoryInUse(entry) {
  return entry ? entry.memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0) : 0;
}

function keepWithinBudget(currentKey) {
  let total = 0;
  for (const entry of instances.values()) total += memoryInUse(entry);
  for (const [key, entry] of instances) {
    if (total <= BUDGET) return;
    if (key === currentKey) continue;
    total -= memoryInUse(entry);
    instances.delete(key);
  }
}

// ---- calls ------------------------------------------------------------------------------

/** Bytes a result occupies: byte arrays and strings, wherever they are nested. */
function outputSize(value) {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((sum, item) => sum + outputSize(item), 0);
  if (value && typeof value === 'object') return Object.values(value).reduce((sum, item) => sum + outputSize(item), 0);
  return 8;
}

function describe(err) {
  return err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err);
}

async function call({ id, key, component, fn, args }) {
  let entry;
  try {
    const fresh = !instances.has(key);
    entry = await getInstance(key, component);
    // Loading and instantiating are not the component's time: the deadline starts now.
    if (fresh) parentPort.postMessage({ id, ready: true });
    const exported = entry.root[fn];
    if (typeof exported !== 'function') throw new Error(`the component does not export ${fn}`);
    const value = exported(...args.map((arg) => (isPackedEvents(arg) ? unpackEvents(arg) : arg)));
    const used = memoryInUse(entry);
    if (used > MEMORY_LIMIT) {
      instances.delete(key);
      throw new LimitFailure('memory', `the component uses ${mib(used)} of memory, more than its limit of ${mib(MEMORY_LIMIT)}`);
    }
    if (used > MEMORY_LIMIT * RECYCLE_AT) instances.delete(key);
    keepWithinBudget(key);
    const size = outputSize(value);
    if (size > OUTPUT_LIMIT) {
      throw new LimitFailure('output', `the component returned ${mib(size)}, more than the limit of ${mib(OUTPUT_LIMIT)} per call`);
    }
    return { ok: true, value, memoryBytes: used };
  } catch (err) {
    const used = memoryInUse(entry);
    if (err instanceof LimitFailure) {
      return { ok: false, failure: { kind: err.kind, message: err.message, memoryBytes: used } };
    }
    // jco reports the component's error variant as an exception carrying it as `payload`.
    if (err && typeof err === 'object' && 'payload' in err) {
      return { ok: false, failure: { kind: 'error-result', message: describe(err), payload: err.payload, memoryBytes: used } };
    }
    // Anything else leaves the instance unusable (a trapped instance cannot be entered again).
    instances.delete(key);
    if (err instanceof WebAssembly.RuntimeError && used >= MEMORY_LIMIT * NEAR_LIMIT) {
      return {
        ok: false,
        failure: {
          kind: 'memory',
          message: `the component ran out of memory: it uses ${mib(used)} and its limit is ${mib(MEMORY_LIMIT)} (${describe(err)})`,
          memoryBytes: used,
        },
      };
    }
    return { ok: false, failure: { kind: 'failed', message: describe(err), memoryBytes: used } };
  }
}

parentPort.on('message', async (message) => {
  if (message.type === 'release') {
    instances.delete(message.key);
    return;
  }
  const reply = await call(message);
  reply.id = message.id;
  const transfer =
    reply.ok && reply.value instanceof Uint8Array && reply.value.byteOffset === 0 &&
    reply.value.byteLength === reply.value.buffer.byteLength
      ? [reply.value.buffer]
      : [];
  parentPort.postMessage(reply, transfer);
});
