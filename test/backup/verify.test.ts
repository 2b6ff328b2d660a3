/**
 * `factum verify` on a file store's data directory: clean when nothing is wrong, and it finds a
 * flipped byte wherever it is (log, index snapshot, component), reads only, and keeps off a
 * directory a server holds.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshot, writeSnapshot } from '../../src/storage/file/index-snapshot.ts';
import { verifyDataDirectory } from '../../src/storage/file/verify.ts';
import { cloudEvent } from '../support/http.ts';
import { startTestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS, loadComponents } from '../wasm/components.ts';
import { runFactumProcess } from './factum.ts';
import { publish, VIEWS } from './shop.ts';

let root: string;
let pristine: string;
let copies = 0;

beforeAll(async () => {
  const { 'order-summary': wasm } = await loadComponents('order-summary');
  root = await mkdtemp(join(tmpdir(), 'factum-verify-'));
  pristine = join(root, 'pristine');
  const ts = await startTestServer({ dataDir: pristine });
  for (const name of ['shop', 'empty']) await ts.client.post('/databases', { name });
  for (let t = 0; t < 20; t++) {
    await ts.client.post('/databases/shop/events', { events: Array.from({ length: 5 }, (_, i) => cloudEvent({ subject: `s-${i}`, data: { t, i, text: 'x'.repeat(40) } })) });
  }
  await publish(ts.client, '/databases/shop/state-views', VIEWS.orderSummary, wasm);
  // A clean stop writes the index snapshot.
  await ts.server.close();
}, BUILD_TIMEOUT_MS);
afterAll(() => (root ? rm(root, { recursive: true, force: true }) : undefined));

/** A copy of the clean data directory to damage. */
async function copy(): Promise<string> {
  const dir = join(root, `copy-${++copies}`);
  await cp(pristine, dir, { recursive: true });
  return dir;
}

async function flipByte(path: string, at: (size: number) => number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at(bytes.length)]! ^= 0x20;
  await writeFile(path, bytes);
}

const shopFile = (dir: string, name: string) => join(dir, 'databases', 'shop', name);

async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const path = join(entry.parentPath, entry.name);
    hash.update(path);
    if (entry.isFile()) hash.update(await readFile(path));
  }
  return hash.digest('hex');
}

describe('factum verify', () => {
  it('reports a clean store clean, exits 0, and changes nothing', async () => {
    const before = await fingerprint(pristine);
    const result = await runFactumProcess(['verify', '--data-dir', pristine]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/shop: 100 events in 20 transactions \(\d+ bytes of log\), index snapshot covers 100, 1 component versions/);
    expect(result.stdout).toMatch(/clean: 2 databases, no problems\n$/);
    expect(await fingerprint(pristine)).toBe(before);
  });

  it('finds a flipped byte in the log, says what the server would do, and exits 1', async () => {
    const dir = await copy();
    await flipByte(shopFile(dir, 'events.log'), (size) => Math.floor(size / 2));
    const result = await runFactumProcess(['verify', '--data-dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/PROBLEM: shop: events\.log is damaged at byte \d+ of \d+ \(checksum mismatch\); the server starts from its index snapshot, which covers this part, without noticing/);
    expect(result.stderr).toMatch(/^factum: .*: 1 problem found\n$/);
  });

  it('says a damaged last transaction without a snapshot is cut on the next start', async () => {
    const dir = await copy();
    await rm(shopFile(dir, 'index.snapshot'));
    await flipByte(shopFile(dir, 'events.log'), (size) => size - 3);
    const report = await verifyDataDirectory(dir);
    expect(report.clean).toBe(false);
    expect(report.databases.find((d) => d.name === 'shop')).toMatchObject({ events: 95, frames: 19 });
    expect(report.findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/damaged at byte \d+ .*on its next start the server cuts the log here, dropping \d+ bytes/),
      expect.stringContaining('no index.snapshot'),
    ]);
  });

  it('finds a damaged index snapshot, one that does not describe the log, and a damaged component', async () => {
    const damaged = await copy();
    await flipByte(shopFile(damaged, 'index.snapshot'), (size) => size - 5);
    expect((await verifyDataDirectory(damaged)).findings.map((f) => f.message)).toEqual([expect.stringContaining('index.snapshot is damaged')]);

    const wrong = await copy();
    const snapshot = (await readSnapshot(shopFile(wrong, 'index.snapshot')))!;
    snapshot.index.times[41]! += 1;
    await writeSnapshot(shopFile(wrong, 'index.snapshot'), snapshot);
    expect((await verifyDataDirectory(wrong)).findings.map((f) => f.message)).toEqual([
      'index.snapshot does not match the log: the effective time of revision 42 differs; remove it (the server then rebuilds the index from the log)',
    ]);

    const component = await copy();
    const blobs = join(component, 'databases', 'shop', 'blobs');
    const wasm = (await readdir(blobs)).find((f) => f.endsWith('.wasm'))!;
    await flipByte(join(blobs, wasm), (size) => Math.floor(size / 3));
    expect((await verifyDataDirectory(component)).findings.map((f) => f.message)).toEqual([expect.stringMatching(/^component blob state-views\/order-summary\/content\/[0-9a-f]{64}\.wasm does not match its sha-256/)]);
  });

  it('keeps off a directory a running server holds, unless forced', async () => {
    const dir = await copy();
    // This test's own process stands in for a server: it is running.
    await writeFile(join(dir, 'LOCK'), String(process.pid));
    const refused = await runFactumProcess(['verify', '--data-dir', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`is in use by process ${process.pid} (its LOCK): stop the server first, or check anyway with --force`);
    const forced = await runFactumProcess(['verify', '--data-dir', dir, '--force', '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ clean: true, findings: [{ severity: 'note', message: expect.stringContaining(`process ${process.pid} holds the directory`) }] });
  });
});
