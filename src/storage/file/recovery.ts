/**
 * Opening the databases of a data directory after a clean stop or a crash: each database's index
 * is rebuilt from its snapshot and log, and a torn tail (from a crash mid-write) cut off at the
 * last whole frame.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError } from '../../core/errors.ts';
import { effectiveTimeMs, type CloudEvent } from '../../core/events.ts';
import { EventIndex } from '../event-index.ts';
import { recoverCheckpoints } from './checkpoints.ts';
import { FileDatabase, LOG_FILE, META_FILE, SNAPSHOT_FILE } from './database.ts';
import { MAX_GROUP_BYTES } from './group-commit.ts';
import { readSnapshot } from './index-snapshot.ts';
import { parseFrame } from './log-format.ts';

const RECOVERY_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Opens and recovers every database under `databasesDir`, one after the other. Yielded one at a
 * time so the caller holds (and on close closes) each one opened before a later one fails.
 */
export async function* recoverDatabases(databasesDir: string): AsyncGenerator<FileDatabase> {
  for (const name of await readdir(databasesDir)) {
    const dir = join(databasesDir, name);
    const meta = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as { name: string; created_at: string };
    const db = new FileDatabase(meta.name, meta.created_at, dir, await open(join(dir, LOG_FILE), 'r+'));
    await recover(db);
    await recoverCheckpoints(db);
    yield db;
  }
}

/**
 * Loads the index snapshot if it fits the log: it must not claim more log than there is, and the
 * event it says is last must be where it says, with that revision.
 */
async function loadSnapshot(db: FileDatabase, fileSize: number): Promise<number> {
  const snap = await readSnapshot(join(db.dir, SNAPSHOT_FILE));
  if (!snap || snap.logSize > fileSize || snap.index.head === 0) return 0;
  const last = snap.index.head - 1;
  const probe = Buffer.alloc(snap.lengths[last]!);
  await db.log.read(probe, 0, probe.length, snap.offsets[last]!);
  try {
    if ((JSON.parse(probe.toString('utf8')) as { revision?: number }).revision !== snap.index.head) return 0;
  } catch {
    return 0;
  }
  db.index = EventIndex.fromState(snap.index);
  db.offsets = snap.offsets;
  db.lengths = snap.lengths;
  db.snapshotLogSize = snap.logSize;
  return snap.logSize;
}

/** Rebuilds a database's index from its snapshot and log, and cuts off a torn tail. */
async function recover(db: FileDatabase): Promise<void> {
  const { size: fileSize } = await db.log.stat();
  const start = await loadSnapshot(db, fileSize);
  let buf = Buffer.alloc(0);
  let bufStart = start; // file offset of buf[0]
  let pos = 0; // parse position within buf
  let good = start; // file offset after the last whole frame
  let tornReason: string | undefined;
  for (;;) {
    const parsed = parseFrame(buf, pos, bufStart);
    if (parsed.kind === 'frame') {
      for (const e of parsed.events) {
        const json = buf.toString('utf8', e.offset - bufStart, e.offset - bufStart + e.length);
        const stored = JSON.parse(json) as CloudEvent & { revision: number; recordedtime: string; effectiveTimeMs: number };
        const revision = db.index.head + 1;
        if (stored.revision !== revision) {
          throw new InternalError(`database "${db.name}": log holds revision ${stored.revision} where ${revision} was expected`);
        }
        stored.effectiveTimeMs = effectiveTimeMs(stored, stored.recordedtime);
        db.index.add(revision, stored);
        db.place(revision, e.offset, e.length);
      }
      pos += parsed.size;
      good = bufStart + pos;
      continue;
    }
    if (parsed.kind === 'torn') {
      tornReason = parsed.reason;
      break;
    }
    // Need more bytes: keep the unparsed rest and read the next chunk after it.
    const readFrom = bufStart + buf.length;
    if (readFrom >= fileSize) {
      if (pos < buf.length) tornReason = 'incomplete frame at end of log';
      break;
    }
    const chunk = Buffer.allocUnsafe(Math.max(RECOVERY_CHUNK_BYTES, parsed.size));
    const { bytesRead } = await db.log.read(chunk, 0, chunk.length, readFrom);
    buf = Buffer.concat([buf.subarray(pos), chunk.subarray(0, bytesRead)]);
    bufStart += pos;
    pos = 0;
  }
  if (good < fileSize) {
    // A crash can only tear the last group commit. Damage further back is corruption of
    // acknowledged data: refuse to start rather than silently cut it away.
    if (fileSize - good > MAX_GROUP_BYTES * 2) {
      throw new InternalError(
        `database "${db.name}": log is damaged at byte ${good} of ${fileSize} (${tornReason}); refusing to truncate acknowledged data`,
      );
    }
    // A frame cut short or corrupted by a crash was never acknowledged: drop it.
    await db.log.truncate(good);
    await db.log.datasync();
    process.emitWarning(`database "${db.name}": cut ${fileSize - good} bytes of torn log tail (${tornReason})`);
  }
  db.size = good;
}
