import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.ts';
import { FileEventStore } from '../src/storage/file/file-store.ts';
import { isRunning } from '../src/storage/file/fs-util.ts';
import { startChildServer, startServerCommand } from './support/child-server.ts';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'factum-cli-'));
  dirs.push(dir);
  return dir;
}

/** The file store's lock file (src/storage/file/fs-util.ts). */
const lockFile = (dataDir: string) => join(dataDir, 'LOCK');

/** Whether anything accepts TCP connections on the port of `url`. */
function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('configuration', () => {
  it('takes flags over environment over defaults', () => {
    expect(resolveConfig({}, {})).toMatchObject({ host: '127.0.0.1', port: 8080, storage: 'file', logLevel: 'info' });
    expect(resolveConfig({}, {}).dataDir).toBe(join(process.cwd(), 'data'));
    const env = { PORT: '9000', FACTUM_DATA_DIR: '/tmp/x', FACTUM_STORAGE: 'memory' };
    expect(resolveConfig({}, env)).toMatchObject({ port: 9000, dataDir: '/tmp/x', storage: 'memory' });
    expect(resolveConfig({ port: '9100', dataDir: '/tmp/y', storage: 'file' }, env)).toMatchObject({ port: 9100, dataDir: '/tmp/y', storage: 'file' });
  });

  it('refuses bad settings with a clear message', () => {
    expect(() => resolveConfig({ port: 'eighty' }, {})).toThrow(/port must be an integer/);
    expect(() => resolveConfig({}, { PORT: '70000' })).toThrow(/port must be an integer/);
    expect(() => resolveConfig({}, { FACTUM_STORAGE: 'postgres' })).toThrow(/storage must be one of/);
  });
});

describe('factum command', () => {
  it('lists its flags with --help', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help']);
    for (const flag of ['--port', '--data-dir', '--storage', '--host', '--log-level', '--max-body-bytes']) expect(stdout).toContain(flag);
    expect(stdout).toMatch(/FACTUM_DATA_DIR/);
  });

  it('exits non-zero on a bad setting', async () => {
    await expect(run(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', 'nope'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('port must be') });
  });

  it('exits 1 with a clear message when the port is taken, and leaves no LOCK in the data directory', async () => {
    const dataDir = await tempDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const failed = run(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', String(port), '--data-dir', dataDir, '--log-level', 'silent']);
      await expect(failed).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(new RegExp(`^factum: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}$`, 'm')),
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    // The store was opened (so the lock was taken) before listening failed, and closed after.
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['databases']));
    expect(existsSync(lockFile(dataDir))).toBe(false);
  });

  it('runs as one process under npm start, which stops on SIGTERM, frees its port and releases the LOCK', async () => {
    const dataDir = await tempDir();
    const server = await startServerCommand('npm', ['start', '--', '--port', '0', '--data-dir', dataDir, '--storage', 'file'], {
      npm_config_update_notifier: 'false',
    });
    try {
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect(existsSync(lockFile(dataDir))).toBe(true);
      // The signal goes to npm, the process we started; npm forwards it to its child, which
      // `exec` made the server itself (a shell in between would die and orphan the server).
      server.process.kill('SIGTERM');
      // npm exits with its child's code once the child has exited: 0 after a clean shutdown.
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(isRunning(server.serverPid)).toBe(false);
      expect(await accepts(server.url)).toBe(false);
      await expect(fetch(`${server.url}/health`)).rejects.toThrow();
      expect(existsSync(lockFile(dataDir))).toBe(false);
      const store = new FileEventStore({ dataDir });
      await store.open();
      await store.close();
    } finally {
      // Should the server have outlived npm, do not leave it running.
      if (isRunning(server.serverPid)) process.kill(server.serverPid, 'SIGKILL');
    }
  });

  it('serves from the data directory of FACTUM_DATA_DIR, logs each request, and stops cleanly on SIGTERM with appends in flight', async () => {
    const dataDir = await tempDir();
    const server = await startChildServer([], { FACTUM_DATA_DIR: dataDir, FACTUM_LOG_LEVEL: 'info' });
    await fetch(`${server.url}/databases`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"shop"}' });
    expect((await stat(join(dataDir, 'databases', 'shop', 'events.log'))).isFile()).toBe(true);

    const inFlight = Array.from({ length: 20 }, (_, i) =>
      fetch(`${server.url}/databases/shop/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ specversion: '1.0', id: `e${i}`, source: 'cli-test', type: 'T' }] }),
      }).then((r) => r.status, () => 'refused' as const),
    );
    await new Promise((r) => setTimeout(r, 5));
    server.process.kill('SIGTERM');
    const statuses = await Promise.all(inFlight);
    const { code } = await server.exited;
    expect(code).toBe(0);
    // Every request the server took in was answered: stored, or refused before it started.
    expect(statuses.every((s) => s === 200 || s === 'refused' || s === 503)).toBe(true);
    const acknowledged = statuses.filter((s) => s === 200).length;

    const again = await startChildServer(['--data-dir', dataDir]);
    const db = (await (await fetch(`${again.url}/databases/shop`)).json()) as { latest_revision: number };
    expect(db.latest_revision).toBe(acknowledged);
    again.process.kill('SIGTERM');
    await again.exited;

    const requestLines = server.logs.filter((l) => l.includes('"request completed"'));
    expect(requestLines.length).toBeGreaterThanOrEqual(1 + acknowledged);
    expect(JSON.parse(requestLines[0]!)).toMatchObject({ req: { method: 'POST', url: '/databases' }, res: { status: 201 } });
    expect(server.logs.some((l) => l.includes('factum stopped'))).toBe(true);
  });
});
