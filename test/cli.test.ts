import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.ts';
import { startChildServer } from './support/child-server.ts';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'factum-cli-'));
  dirs.push(dir);
  return dir;
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
