/**
 * Recovery of the file store's checkpoints after a crash between writing a checkpoint ahead of
 * its frame and the frame reaching the disk. The data directory is left as such a crash leaves
 * it: the checkpoint file names an event the log does not hold (its revision is past the end, or
 * the revision went to another event later). On open the checkpoint it replaced comes back, or
 * none where there was none, and appends are checked against that.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/events.ts';
import { FileEventStore } from '../../src/storage/file/file-store.ts';

const T0 = '2024-01-15T10:30:00.000Z';
const KEY = 'consumers/billing/i1/checkpoint';
const OTHER_KEY = 'consumers/audit/i2/checkpoint';
const ev = (id: string): CloudEvent => ({ specversion: '1.0', id, source: 'projection', type: 'Derived' });
const bytesOf = (position: number) => new TextEncoder().encode(JSON.stringify({ position }));
const text = (bytes: Uint8Array | undefined) => bytes && new TextDecoder().decode(bytes);

let dataDir: string;
let store: FileEventStore;
const checkpointDir = () => join(dataDir, 'databases', 'db', 'checkpoints');
const fileOf = (key: string) => join(checkpointDir(), key.replaceAll('/', '~'));

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'factum-checkpoints-'));
  store = new FileEventStore({ dataDir });
  await store.open();
  await store.createDatabase('db', T0);
});
afterEach(async () => {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function reopen(): Promise<void> {
  await store.close();
  store = new FileEventStore({ dataDir });
  await store.open();
}

/** Leaves `key`'s file as a checkpoint written ahead of an append whose frame was lost. */
async function writtenAhead(key: string, position: number, revision: number, id: string): Promise<void> {
  const committed = await readFile(fileOf(key), 'utf8').then(
    (json) => ({ ...(JSON.parse(json) as Record<string, unknown>), previous: null }),
    () => null,
  );
  const file = { key, position, bytes: Buffer.from(bytesOf(position)).toString('base64'), revision, source: 'projection', id, previous: committed };
  await writeFile(fileOf(key), JSON.stringify(file));
}

it('puts back the checkpoint before one whose events never reached the log', async () => {
  expect((await store.appendTransaction('db', { events: [ev('a')], recordedtime: T0, checkpoint: { key: KEY, position: 1, bytes: bytesOf(1) } })).kind).toBe('appended');
  await store.close();
  await writtenAhead(KEY, 7, 2, 'lost');
  await writtenAhead(OTHER_KEY, 3, 2, 'lost-too');
  store = new FileEventStore({ dataDir });
  await store.open();

  expect(text(await store.getBlob('db', KEY))).toBe('{"position":1}');
  expect(await store.getBlob('db', OTHER_KEY)).toBeUndefined();
  expect(await readdir(checkpointDir())).toEqual([KEY.replaceAll('/', '~')]);
  // Checked against the checkpoint put back, not the lost one.
  expect((await store.appendTransaction('db', { events: [ev('b')], recordedtime: T0, checkpoint: { key: KEY, position: 2, bytes: bytesOf(2) } })).kind).toBe('appended');
  await reopen();
  expect(text(await store.getBlob('db', KEY))).toBe('{"position":2}');
});

it('does not take another event at the revision for the one a checkpoint names', async () => {
  expect((await store.appendTransaction('db', { events: [ev('a')], recordedtime: T0, checkpoint: { key: KEY, position: 1, bytes: bytesOf(1) } })).kind).toBe('appended');
  // Revision 2 went to another append after the one the checkpoint came with failed to write.
  expect((await store.appendTransaction('db', { events: [ev('other')], recordedtime: T0 })).kind).toBe('appended');
  await store.close();
  await writtenAhead(KEY, 9, 2, 'lost');
  store = new FileEventStore({ dataDir });
  await store.open();
  expect(text(await store.getBlob('db', KEY))).toBe('{"position":1}');
  await reopen();
  expect(text(await store.getBlob('db', KEY))).toBe('{"position":1}');
});

it('keeps a checkpoint whose events are in the log', async () => {
  expect((await store.appendTransaction('db', { events: [ev('a'), ev('b')], recordedtime: T0, checkpoint: { key: KEY, position: 1, bytes: bytesOf(1) } })).kind).toBe('appended');
  await reopen();
  expect(text(await store.getBlob('db', KEY))).toBe('{"position":1}');
  expect(await store.appendTransaction('db', { events: [ev('c')], recordedtime: T0, checkpoint: { key: KEY, position: 1, bytes: bytesOf(1) } })).toEqual({ kind: 'checkpoint_behind', position: 1 });
});
