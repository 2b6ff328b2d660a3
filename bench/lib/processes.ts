/**
 * Servers under measurement, each in a process of its own the way users run them: Factum from
 * src/cli.ts on a temporary data directory, or one of the reference servers (bare node:http,
 * bare Express). All listen on 127.0.0.1 only and report when they listen through
 * server-probe.mjs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER_PROBE = join(ROOT, 'bench', 'lib', 'server-probe.mjs');
const BARE_SERVER = join(ROOT, 'bench', 'lib', 'bare-server.mjs');
const EXPRESS_SERVER = join(ROOT, 'bench', 'lib', 'express-server.mjs');
/** Transpiled components are cached here across runs (and shared with the tests). */
export const TRANSPILED_CACHE_DIR = join(ROOT, '.cache', 'wasm', 'transpiled');
const START_TIMEOUT_MS = 120_000;

/** Extra flags for the node processes of servers, e.g. `--cpu-prof` (set by run.ts). */
export const serverNodeFlags: string[] = [];

export interface ServerProcess {
  url: string;
  pid: number;
  /** Milliseconds from spawn to listening. */
  startMs: number;
  /** Memory in use after a full garbage collection (Factum servers run with --expose-gc). */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Stops the server (SIGTERM: a clean shutdown) and waits for it to exit. */
  stop(): Promise<void>;
}

export function startFactum(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  return startProcess([...serverNodeFlags, '--expose-gc', '--import', 'tsx', '--import', SERVER_PROBE, 'src/cli.ts', '--host', '127.0.0.1', '--port', '0', '--storage', 'file', '--data-dir', dataDir, '--log-level', 'warn', '--component-cache-dir', TRANSPILED_CACHE_DIR, ...extraArgs]);
}

export function startBareServer(): Promise<ServerProcess> {
  return startProcess([...serverNodeFlags, '--import', SERVER_PROBE, BARE_SERVER]);
}

export function startExpressServer(): Promise<ServerProcess> {
  return startProcess([...serverNodeFlags, '--import', SERVER_PROBE, EXPRESS_SERVER]);
}

async function startProcess(args: string[]): Promise<ServerProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // Keep only the end of the output, for error messages; draining it keeps the server from blocking.
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${START_TIMEOUT_MS} ms: ${output}`)), START_TIMEOUT_MS);
    child.on('message', (message: { listening?: { host: string; port: number } }) => {
      if (!message.listening) return;
      clearTimeout(timer);
      resolve(`http://${message.listening.host}:${message.listening.port}`);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited (${child.exitCode ?? child.signalCode}) before listening: ${output}`));
    });
  });
  const startMs = performance.now() - started;
  child.channel?.unref();
  const memory = () =>
    new Promise<NodeJS.MemoryUsage>((resolve, reject) => {
      const onMessage = (message: { memory?: NodeJS.MemoryUsage & { collected: boolean } }) => {
        if (!message.memory) return;
        child.off('message', onMessage);
        if (message.memory.collected) resolve(message.memory);
        else reject(new Error('the server cannot collect garbage on request (no --expose-gc)'));
      };
      child.on('message', onMessage);
      child.send({ type: 'memory' });
    });
  return { url, pid: child.pid!, startMs, memory, stop: () => stopProcess(child, exited) };
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a process, from /proc (Linux). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}
