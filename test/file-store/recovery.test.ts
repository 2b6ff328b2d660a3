import { appendFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileEventStore } from '../../src/storage/file/file-store.ts';
import { encodeFrame } from '../../src/storage/file/log-format.ts';

const T0 = '2024-01-15T10:30:00.000Z';
const event = (id: string) => ({ specversion: '1.0' as const, id, source: 'src', type: 'T', data: { id } });

describe('file store recovery', () => {
  let dataDir: string;
  let logPath: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'factum-recovery-'));
    logPath = join(dataDir, 'databases', 'db', 'events.log');
    const store = new FileEventStore({ dataDir });
    await store.open();
    await store.createDatabase('db', T0);
    await store.appendTransaction('db', { events: [event('a'), event('b')], recordedtime: T0 });
    await store.appendTransaction('db', { events: [event('c')], recordedtime: T0 });
    await store.close();
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  async function reopen() {
    const store = new FileEventStore({ dataDir });
    await store.open();
    return store;
  }

  it.each([
    ['a frame cut short', (frame: Buffer) => frame.subarray(0, frame.length - 7)],
    ['a header cut short', (frame: Buffer) => frame.subarray(0, 9)],
    ['a frame with a flipped byte', (frame: Buffer) => {
      const copy = Buffer.from(frame);
      copy[copy.length - 3] ^= 0xff;
      return copy;
    }],
    ['zeros the file system allocated but never wrote', (frame: Buffer) => Buffer.alloc(frame.length)],
  ])('cuts off %s at the tail and keeps every whole transaction', async (_case, tear) => {
    const goodSize = (await stat(logPath)).size;
    const { frame } = encodeFrame([JSON.stringify({ ...event('torn'), revision: 4, recordedtime: T0 })]);
    await appendFile(logPath, tear(frame));
    const store = await reopen();
    expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 3 });
    expect((await stat(logPath)).size).toBe(goodSize);
    // Appends continue densely after the cut.
    expect(await store.appendTransaction('db', { events: [event('torn')], recordedtime: T0 })).toEqual({ kind: 'appended', firstRevision: 4, lastRevision: 4 });
    const page = await store.query('db', { direction: 'forward', limit: 10 });
    expect(page.events.map((e) => JSON.parse(e.json).id)).toEqual(['a', 'b', 'c', 'torn']);
    await store.close();
  });

  it('refuses to start on damage before the tail rather than cut acknowledged data', async () => {
    // Without a snapshot the whole log is read. Corrupt the first frame, then add many whole frames after it.
    await rm(join(dataDir, 'databases', 'db', 'index.snapshot'));
    const handle = await open(logPath, 'r+');
    await handle.write(Buffer.from([0x00]), 0, 1, 20);
    await handle.close();
    const many = Array.from({ length: 40 }, (_, i) => encodeFrame([JSON.stringify({ ...event(`x${i}`), revision: 4 + i, recordedtime: T0, pad: 'p'.repeat(4_000_000) })]).frame);
    await appendFile(logPath, Buffer.concat(many));
    const store = new FileEventStore({ dataDir });
    await expect(store.open()).rejects.toThrow(/damaged at byte 0/);
    // A store that did not open leaves the data directory free.
    await expect(stat(join(dataDir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(new FileEventStore({ dataDir }).open()).rejects.toThrow(/damaged at byte 0/);
  });

  it('restarts from the index snapshot, and rebuilds from the log when the snapshot cannot be trusted', async () => {
    const snapshotPath = join(dataDir, 'databases', 'db', 'index.snapshot');
    expect((await stat(snapshotPath)).size).toBeGreaterThan(0);
    const expectSame = async () => {
      const store = await reopen();
      const page = await store.query('db', { selector: { type: 'equals', attr: 'stream', value: 'src' }, direction: 'backward', limit: 10 });
      expect(page.events.map((e) => JSON.parse(e.json).id)).toEqual(['c', 'b', 'a']);
      expect((await store.appendTransaction('db', { events: [event('a')], recordedtime: T0 })).kind).toBe('duplicates');
      await store.close();
    };
    await expectSame();
    // A damaged snapshot is ignored.
    const bytes = await readFile(snapshotPath);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(snapshotPath, bytes);
    await expectSame();
    // A snapshot that claims more log than there is (the log was replaced) is ignored too.
    const store = await reopen();
    await store.appendTransaction('db', { events: [event('d')], recordedtime: T0 });
    await store.close();
    const bigSnapshot = await readFile(snapshotPath);
    const logBytes = await readFile(logPath);
    await writeFile(logPath, logBytes.subarray(0, (await stat(logPath)).size - 1));
    await writeFile(snapshotPath, bigSnapshot);
    const cut = await reopen();
    expect(await cut.getDatabase('db')).toMatchObject({ latest_revision: 3 });
    await cut.close();
  });

  it('lets only one process own a data directory, and takes over the lock of a dead one', async () => {
    await writeFile(join(dataDir, 'LOCK'), String(process.ppid));
    await expect(new FileEventStore({ dataDir }).open()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // A pid that cannot be running (beyond the kernel's pid range).
    await writeFile(join(dataDir, 'LOCK'), '99999999');
    const store = await reopen();
    expect(await readFile(join(dataDir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await store.close();
  });

  it('removes a database directory whole, and leftovers of interrupted creates are cleared on start', async () => {
    const store = await reopen();
    await store.deleteDatabase('db');
    await store.close();
    await expect(stat(join(dataDir, 'databases', 'db'))).rejects.toMatchObject({ code: 'ENOENT' });
    // A crash between building a database aside and renaming it into place leaves only staging.
    await writeFile(join(dataDir, 'tmp', 'half-made'), 'x');
    const again = await reopen();
    expect(await again.listDatabases()).toEqual([]);
    await expect(stat(join(dataDir, 'tmp', 'half-made'))).rejects.toMatchObject({ code: 'ENOENT' });
    await again.close();
  });
});

describe('file store group commit', () => {
  it('shares one fdatasync among concurrent appends to a database', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'factum-group-'));
    const store = new FileEventStore({ dataDir });
    await store.open();
    await store.createDatabase('db', T0);
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendTransaction('db', { events: [event(`g${i}`)], recordedtime: T0 })));
    expect(store.stats.transactions).toBe(200);
    // Appends that arrive while a sync runs wait for the next round and share it.
    expect(store.stats.syncs).toBeLessThan(20);
    expect(await store.getDatabase('db')).toMatchObject({ latest_revision: 200 });
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});
