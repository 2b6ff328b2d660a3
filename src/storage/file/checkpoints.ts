/**
 * Checkpoints of the file store: blobs written with an append, on disk with its events or not at
 * all. Each is one file under databases/<name>/checkpoints/, renamed into place and synced
 * before the append's frame is written. The frame may still not reach the disk (a crash before
 * its fdatasync), so a checkpoint file names the append's last event by revision, source and id
 * (no other event can have that source and id) and counts only once that event is in the log.
 * When it is not, recovery puts back the checkpoint it replaced, which the file keeps. Readers
 * see checkpoints from memory, where they are published together with the append's events.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { CommittedCheckpoint, FileDatabase } from './database.ts';
import { fsyncDirectory } from './fs-util.ts';

export const CHECKPOINT_DIR = 'checkpoints';

interface CheckpointFile {
  key: string;
  position: number;
  bytes: string;
  revision: number;
  source: string;
  id: string;
  previous: Omit<CheckpointFile, 'previous'> | null;
}

const fileName = (key: string) => key.replaceAll('/', '~');
const dirOf = (db: FileDatabase) => join(db.dir, CHECKPOINT_DIR);

/**
 * Writes the checkpoint of an append about to be written, keeping the committed one it replaces
 * (from memory: a file left by a failed round is no checkpoint). Durable when it resolves.
 */
export async function writeCheckpointAhead(db: FileDatabase, checkpoint: CommittedCheckpoint): Promise<void> {
  const previous = db.checkpoints.get(checkpoint.key);
  await writeCheckpointFile(db, { ...toFile(checkpoint), previous: previous ? toFile(previous) : null });
}

/** Undoes writeCheckpointAhead after a round that failed: the committed checkpoint goes back. */
export async function restoreCheckpoint(db: FileDatabase, key: string): Promise<void> {
  const committed = db.checkpoints.get(key);
  if (committed) await writeCheckpointFile(db, { ...toFile(committed), previous: null });
  else await rm(join(dirOf(db), fileName(key)), { force: true });
  await fsyncDirectory(dirOf(db));
}

/**
 * Loads the checkpoints of a recovered database: those whose event is in the log count; the
 * others, written ahead of a frame a crash cut off, give way to the checkpoint before them.
 */
export async function recoverCheckpoints(db: FileDatabase): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dirOf(db))).filter((name) => !name.startsWith('.'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    const file = JSON.parse(await readFile(join(dirOf(db), name), 'utf8')) as CheckpointFile;
    if (await inLog(db, file)) {
      db.checkpoints.set(file.key, fromFile(file));
    } else if (file.previous) {
      await writeCheckpointFile(db, { ...file.previous, previous: null });
      db.checkpoints.set(file.key, fromFile(file.previous));
    } else {
      await rm(join(dirOf(db), name), { force: true });
      await fsyncDirectory(dirOf(db));
    }
  }
}

/** Deletes the checkpoints whose keys start with `prefix`; returns how many. */
export async function deleteCheckpoints(db: FileDatabase, prefix: string): Promise<number> {
  const doomed = [...db.checkpoints.keys()].filter((key) => key.startsWith(prefix));
  for (const key of doomed) db.checkpoints.delete(key);
  if (doomed.length === 0) return 0;
  await Promise.all(doomed.map((key) => rm(join(dirOf(db), fileName(key)), { force: true })));
  await fsyncDirectory(dirOf(db));
  return doomed.length;
}

async function inLog(db: FileDatabase, file: Omit<CheckpointFile, 'previous'>): Promise<boolean> {
  if (file.revision < 1 || file.revision > db.index.head) return false;
  const [raw] = await db.read([file.revision]);
  const event = JSON.parse(raw!.json) as { source?: string; id?: string };
  return event.source === file.source && event.id === file.id;
}

async function writeCheckpointFile(db: FileDatabase, file: CheckpointFile): Promise<void> {
  const dir = dirOf(db);
  await mkdir(dir, { recursive: true });
  const staging = join(dir, `.staging-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(staging, JSON.stringify(file), { flush: true });
    await rename(staging, join(dir, fileName(file.key)));
    await fsyncDirectory(dir);
  } finally {
    await rm(staging, { force: true });
  }
}

function toFile(c: CommittedCheckpoint): Omit<CheckpointFile, 'previous'> {
  return { key: c.key, position: c.position, bytes: Buffer.from(c.bytes).toString('base64'), revision: c.revision, source: c.source, id: c.id };
}

function fromFile(f: Omit<CheckpointFile, 'previous'>): CommittedCheckpoint {
  return { key: f.key, position: f.position, bytes: new Uint8Array(Buffer.from(f.bytes, 'base64')), revision: f.revision, source: f.source, id: f.id };
}
