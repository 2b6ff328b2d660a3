/**
 * The offline check of a file store's data directory (`factum verify`): every frame of every
 * log against its checksum, revisions dense from 1, the index snapshot against the log it
 * claims to describe, and the components' bytes against their sha-256. It only reads: files are
 * opened read-only, nothing is repaired, truncated or locked. What the server would do about a
 * finding on its next start is said with it.
 */
import { createHash } from 'node:crypto';
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { effectiveTimeMs, eventKey } from '../../core/events.ts';
import { extensionsOf } from '../../core/selectors.ts';
import { EventIndex } from '../event-index.ts';
import { BLOB_DIR, LOG_FILE, META_FILE, SNAPSHOT_FILE } from './database.ts';
import { isRunning } from './fs-util.ts';
import { MAX_GROUP_BYTES } from './group-commit.ts';
import { readSnapshot, type SnapshotContent } from './index-snapshot.ts';
import { parseFrame } from './log-format.ts';

/** A problem is damage or an inconsistency; a note is worth knowing but harmless. */
export interface Finding {
  severity: 'problem' | 'note';
  /** The database it concerns, if one. */
  database?: string;
  message: string;
}

export interface DatabaseSummary {
  name: string;
  events: number;
  frames: number;
  logBytes: number;
  /** Events the index snapshot covers; undefined when there is no usable snapshot. */
  snapshotEvents?: number;
  components: number;
}

export interface VerifyReport {
  dataDir: string;
  databases: DatabaseSummary[];
  findings: Finding[];
  /** No problem found (notes allowed). */
  clean: boolean;
}

export type LockState = { kind: 'free' } | { kind: 'held'; pid: number } | { kind: 'stale'; pid: number | undefined };

/** Whether a running process holds the data directory (its LOCK file names a live pid). */
export async function lockState(dataDir: string): Promise<LockState> {
  let text: string;
  try {
    text = await readFile(join(dataDir, 'LOCK'), 'utf8');
  } catch {
    return { kind: 'free' };
  }
  const pid = Number.parseInt(text, 10);
  if (Number.isSafeInteger(pid) && pid > 0 && isRunning(pid)) return { kind: 'held', pid };
  return { kind: 'stale', pid: Number.isSafeInteger(pid) ? pid : undefined };
}

const CHUNK_BYTES = 8 * 1024 * 1024;

export async function verifyDataDirectory(dataDir: string): Promise<VerifyReport> {
  const findings: Finding[] = [];
  const databases: DatabaseSummary[] = [];
  const databasesDir = join(dataDir, 'databases');
  const names = await readdir(databasesDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`${dataDir} is not a Factum data directory: it has no databases/ folder`);
    throw error;
  });
  for (const staging of ['tmp', 'trash']) {
    const left = await readdir(join(dataDir, staging)).catch(() => []);
    if (left.length > 0) findings.push({ severity: 'note', message: `${staging}/ holds ${left.length} entries left by an interrupted create or delete; the server empties it on start` });
  }
  for (const dirName of names.sort()) {
    const found: Finding[] = [];
    const summary = await verifyDatabase(join(databasesDir, dirName), dirName, (severity, message) => found.push({ severity, database: dirName, message }));
    databases.push(summary);
    findings.push(...found);
  }
  return { dataDir, databases, findings, clean: !findings.some((f) => f.severity === 'problem') };
}

type Report = (severity: Finding['severity'], message: string) => void;

async function verifyDatabase(dir: string, dirName: string, report: Report): Promise<DatabaseSummary> {
  const summary: DatabaseSummary = { name: dirName, events: 0, frames: 0, logBytes: 0, components: 0 };
  try {
    const meta = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as { name?: unknown; created_at?: unknown };
    if (meta.name !== dirName) report('problem', `${META_FILE} names the database "${String(meta.name)}", but its directory is "${dirName}"`);
    if (typeof meta.created_at !== 'string' || Number.isNaN(Date.parse(meta.created_at))) report('problem', `${META_FILE} has no readable created_at`);
  } catch (error) {
    report('problem', `${META_FILE} cannot be read: ${(error as Error).message}; the server cannot open this database`);
  }
  let log: FileHandle;
  try {
    log = await open(join(dir, LOG_FILE), 'r');
  } catch (error) {
    report('problem', `${LOG_FILE} cannot be opened: ${(error as Error).message}`);
    return summary;
  }
  try {
    const snapshot = await loadSnapshot(join(dir, SNAPSHOT_FILE));
    const scan = await scanLog(log, snapshot === 'absent' || snapshot === 'damaged' ? 0 : snapshot.logSize, report);
    Object.assign(summary, { events: scan.index.head, frames: scan.frames, logBytes: scan.intactBytes });
    summary.snapshotEvents = checkSnapshot(snapshot, scan, report);
  } finally {
    await log.close();
  }
  summary.components = await checkBlobs(join(dir, BLOB_DIR), report);
  return summary;
}

/** What a scan of a log found: the index it rebuilds, where each event is, where frames end. */
interface LogScan {
  index: EventIndex;
  offsets: number[];
  lengths: number[];
  frames: number;
  /** Bytes from the start that hold whole, intact frames. */
  intactBytes: number;
  /** Log size after each frame, by the revision of the frame's last event. */
  frameEndByLastRevision: Map<number, number>;
  /** The log is damaged after `intactBytes`. */
  damaged: boolean;
}

/**
 * Reads the log frame by frame, as the server's recovery does, but only reports: every frame's
 * checksum, revisions dense from 1, one recorded time per frame (a frame is a transaction),
 * source + id unique.
 */
async function scanLog(log: FileHandle, snapshotLogSize: number, report: Report): Promise<LogScan> {
  const { size } = await log.stat();
  const scan: LogScan = { index: new EventIndex(), offsets: [], lengths: [], frames: 0, intactBytes: 0, frameEndByLastRevision: new Map(), damaged: false };
  let buffer = Buffer.alloc(0);
  let bufferStart = 0;
  let reported = 0;
  // A damaged log says the same of every event after the damage; a few say it all.
  const limited: Report = (severity, message) => {
    if (++reported <= 20) report(severity, message);
    else if (reported === 21) report('note', 'further findings in this log are left out');
  };
  for (;;) {
    const pos = scan.intactBytes - bufferStart;
    const parsed = parseFrame(buffer, pos, bufferStart);
    if (parsed.kind === 'need-more') {
      if (bufferStart + buffer.length >= size) {
        scan.damaged = pos < buffer.length;
        if (scan.damaged) reportDamage({ size, intact: scan.intactBytes, snapshotLogSize }, 'a frame cut short at the end of the log', report);
        break;
      }
      const chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, parsed.size));
      const { bytesRead } = await log.read(chunk, 0, chunk.length, bufferStart + buffer.length);
      buffer = Buffer.concat([buffer.subarray(pos), chunk.subarray(0, bytesRead)]);
      bufferStart = scan.intactBytes;
      continue;
    }
    if (parsed.kind === 'torn') {
      scan.damaged = true;
      reportDamage({ size, intact: scan.intactBytes, snapshotLogSize }, parsed.reason, report);
      break;
    }
    scan.frames++;
    let recordedtime: string | undefined;
    for (const event of parsed.events) {
      const json = buffer.toString('utf8', event.offset - bufferStart, event.offset - bufferStart + event.length);
      recordedtime = checkEvent(scan, json, event.offset, event.length, recordedtime, limited) ?? recordedtime;
    }
    scan.intactBytes += parsed.size;
    scan.frameEndByLastRevision.set(scan.index.head, scan.intactBytes);
  }
  await checkUniqueKeys(log, scan, limited);
  return scan;
}

/** Checks one event of a frame and indexes it; returns its recorded time. */
function checkEvent(scan: LogScan, json: string, offset: number, length: number, frameTime: string | undefined, report: Report): string | undefined {
  const expected = scan.index.head + 1;
  let event: { revision?: unknown; recordedtime?: unknown; source?: unknown; id?: unknown; type?: unknown; subject?: unknown; time?: unknown };
  try {
    event = JSON.parse(json) as typeof event;
  } catch {
    report('problem', `the event after revision ${expected - 1} (byte ${offset}) is not valid JSON, though its frame's checksum holds`);
    return undefined;
  }
  if (event.revision !== expected) {
    report('problem', `revision ${String(event.revision)} stands where revision ${expected} was expected (byte ${offset}): revisions are not dense; the server refuses to start`);
    return undefined;
  }
  const { source, id, type, subject, recordedtime } = event;
  if (typeof source !== 'string' || typeof id !== 'string' || typeof type !== 'string' || (subject !== undefined && typeof subject !== 'string')) {
    report('problem', `revision ${expected} lacks a string source, id or type`);
  }
  if (typeof recordedtime !== 'string' || Number.isNaN(Date.parse(recordedtime))) report('problem', `revision ${expected} has no readable recordedtime`);
  else if (frameTime !== undefined && recordedtime !== frameTime) report('problem', `revision ${expected} has recordedtime ${recordedtime}, unlike the rest of its transaction (${frameTime})`);
  scan.index.add(expected, {
    source: String(source),
    id: String(id),
    type: String(type),
    subject: typeof subject === 'string' ? subject : undefined,
    effectiveTimeMs: effectiveTimeMs({ time: typeof event.time === 'string' ? event.time : undefined }, String(recordedtime)),
    extensionAttributes: extensionsOf(event),
  });
  scan.offsets.push(offset);
  scan.lengths.push(length);
  return typeof recordedtime === 'string' ? recordedtime : undefined;
}

/**
 * Says what damage at `intact` of a log of `size` bytes means on the server's next start: what
 * an index snapshot covers is not read again; after it, recovery cuts a damaged tail no longer
 * than two group commits (a crash tears only the last write) and refuses damage further back.
 */
function reportDamage(at: { size: number; intact: number; snapshotLogSize: number }, reason: string, report: Report): void {
  const lost = at.size - at.intact;
  const consequence =
    at.snapshotLogSize > at.intact
      ? `the server starts from its index snapshot, which covers this part, without noticing: it would serve these events as they are on disk; restore this database from a backup`
      : lost <= MAX_GROUP_BYTES * 2
        ? `on its next start the server cuts the log here, dropping ${lost} bytes: harmless for a write torn by a crash (never acknowledged), lost transactions if it is damage`
        : `the server refuses to start: ${lost} bytes of acknowledged transactions follow the damage`;
  report('problem', `${LOG_FILE} is damaged at byte ${at.intact} of ${at.size} (${reason}); ${consequence}`);
}

/**
 * Source + id is unique in a database. The index keeps 30-bit hashes of keys, so revisions that
 * share a hash are read back and compared: only an equal source and id is a duplicate.
 */
async function checkUniqueKeys(log: FileHandle, scan: LogScan, report: Report): Promise<void> {
  const { keyHashes } = scan.index.exportState();
  const sorted = Uint32Array.from(keyHashes).sort();
  const shared = new Set<number>();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) shared.add(sorted[i]!);
  const firstByKey = new Map<string, number>();
  for (let revision = 1; revision <= scan.index.head; revision++) {
    if (!shared.has(keyHashes[revision - 1]!)) continue;
    const bytes = Buffer.alloc(scan.lengths[revision - 1]!);
    await log.read(bytes, 0, bytes.length, scan.offsets[revision - 1]!);
    const { source, id } = JSON.parse(bytes.toString('utf8')) as { source: string; id: string };
    const key = eventKey({ source, id });
    const first = firstByKey.get(key);
    if (first !== undefined) report('problem', `revisions ${first} and ${revision} share source "${source}" and id "${id}"`);
    else firstByKey.set(key, revision);
  }
}

/**
 * The snapshot must describe the log exactly as far as it goes: the same events at the same
 * places with the same attributes, times and key hashes, ending on a frame boundary. The server
 * checks only its last event, so a snapshot wrong further back would answer queries wrongly.
 */
async function loadSnapshot(path: string): Promise<SnapshotContent | 'absent' | 'damaged'> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) return 'absent';
  return (await readSnapshot(path)) ?? 'damaged';
}

function checkSnapshot(snapshot: SnapshotContent | 'absent' | 'damaged', scan: LogScan, report: Report): number | undefined {
  if (snapshot === 'absent') {
    // An empty log has nothing to snapshot; the server writes none for it.
    if (scan.index.head > 0) report('note', `no ${SNAPSHOT_FILE}: the server rebuilds the index from the whole log on start (a crash, or never stopped cleanly)`);
    return undefined;
  }
  if (snapshot === 'damaged') {
    report('problem', `${SNAPSHOT_FILE} is damaged (its checksum or shape does not hold); the server ignores it and rebuilds the index from the log`);
    return undefined;
  }
  // Covering more than the intact log is the damage already reported, not a fault of the snapshot.
  if (scan.damaged && snapshot.index.head > scan.index.head) return snapshot.index.head;
  const mismatch = snapshotMismatch(snapshot, scan);
  if (mismatch) {
    report('problem', `${SNAPSHOT_FILE} does not match the log: ${mismatch}; remove it (the server then rebuilds the index from the log)`);
    return undefined;
  }
  return snapshot.index.head;
}

function snapshotMismatch(snapshot: SnapshotContent, scan: LogScan): string | undefined {
  const head = snapshot.index.head;
  if (head === 0) return undefined;
  if (head > scan.index.head) return `it covers ${head} events, the intact log holds ${scan.index.head}`;
  if (scan.frameEndByLastRevision.get(head) !== snapshot.logSize) return `it ends at byte ${snapshot.logSize}, which is not where the frame of revision ${head} ends`;
  const log = scan.index.exportState();
  for (const attr of ['stream', 'event_type', 'subject'] as const) {
    const values = snapshot.index.values[attr];
    const differs = values.findIndex((value, i) => log.values[attr][i] !== value);
    if (differs !== -1) return `its ${attr} value #${differs + 1} is "${values[differs]}", the log's is "${log.values[attr][differs]}"`;
  }
  const arrays: Array<[string, ArrayLike<number>, ArrayLike<number>]> = [
    ['place in the log', snapshot.offsets, scan.offsets],
    ['length', snapshot.lengths, scan.lengths],
    ['effective time', snapshot.index.times, log.times],
    ['key hash', snapshot.index.keyHashes, log.keyHashes],
    ...(['stream', 'event_type', 'subject'] as const).map((attr): [string, ArrayLike<number>, ArrayLike<number>] => [attr, snapshot.index.attrIds[attr], log.attrIds[attr]]),
  ];
  for (const [what, theirs, ours] of arrays) {
    for (let i = 0; i < head; i++) if (!Object.is(theirs[i], ours[i])) return `the ${what} of revision ${i + 1} differs`;
  }
  return extensionMismatch(snapshot.index.extensions, log.extensions, head);
}

/** Each extension column of the snapshot against the log's, as far as the snapshot goes. */
function extensionMismatch(theirs: SnapshotContent['index']['extensions'], ours: SnapshotContent['index']['extensions'], head: number): string | undefined {
  for (const name of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
    const a = theirs[name];
    const b = ours[name];
    const count = b ? b.revisions.findIndex((r) => r > head) : 0;
    const covered = count === -1 ? b!.revisions.length : count;
    if (!a) {
      if (covered > 0) return `it leaves out extension ${name}, which revision ${b!.revisions[0]} carries`;
      continue;
    }
    if (!b || a.revisions.length !== covered) return `it lists ${a.revisions.length} events with extension ${name}, the log ${covered}`;
    for (let i = 0; i < covered; i++) {
      if (a.revisions[i] !== b.revisions[i]) return `its events with extension ${name} differ at revision ${a.revisions[i]}`;
      if (a.values[a.ids[i]! - 1] !== b.values[b.ids[i]! - 1]) return `the ${name} of revision ${a.revisions[i]} differs`;
    }
  }
  return undefined;
}

/** Keys of a component's shared content blob: `<kind>/<name>/content/<sha256>.wasm`. */
const CONTENT_KEY = /^(state-views|state-changes)\/[^/]+\/content\/([0-9a-f]{64})\.wasm$/;
const METADATA_KEY = /^(state-views|state-changes)\/([^/]+)\/(\d+)\/metadata\.json$/;

/** Every component's bytes against the sha-256 in their name, every version's metadata readable and pointing at bytes. */
async function checkBlobs(dir: string, report: Report): Promise<number> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const keys = new Set(files.filter((f) => !f.startsWith('.')).map((f) => f.replaceAll('~', '/')));
  const staging = files.filter((f) => f.startsWith('.staging-')).length;
  if (staging > 0) report('note', `${BLOB_DIR}/ holds ${staging} staging files of interrupted writes (harmless)`);
  let versions = 0;
  for (const key of keys) {
    const content = CONTENT_KEY.exec(key);
    if (content) {
      const sha = createHash('sha256').update(await readFile(join(dir, key.replaceAll('/', '~')))).digest('hex');
      if (sha !== content[2]) report('problem', `component blob ${key} does not match its sha-256 (it hashes to ${sha})`);
      continue;
    }
    const meta = METADATA_KEY.exec(key);
    if (!meta) continue;
    versions++;
    let record: { component_sha256?: unknown };
    try {
      record = JSON.parse(await readFile(join(dir, key.replaceAll('/', '~')), 'utf8')) as typeof record;
    } catch {
      report('problem', `${key} is not valid JSON: that version cannot be listed or run`);
      continue;
    }
    const bytes = [`${meta[1]}/${meta[2]}/content/${String(record.component_sha256)}.wasm`, `${meta[1]}/${meta[2]}/${meta[3]}/component.wasm`];
    if (!bytes.some((k) => keys.has(k))) report('problem', `${key}: the component it records (sha-256 ${String(record.component_sha256)}) is missing`);
  }
  return versions;
}
