/**
 * A server process under concurrent appends is killed with SIGKILL, again and again. After each
 * restart every acknowledged event must be there, byte for byte, with dense revisions, and no
 * transaction may be half-stored. Bytes are compared as stored: the log file is read before and
 * after recovery, and the server must serve each event's stored text as it is in the log.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseFrame } from '../../src/storage/file/log-format.ts';
import { startChildServer, type ChildServer } from '../support/child-server.ts';

interface SentTransaction {
  events: Array<Record<string, unknown>>;
  /** The revision of the last event, once acknowledged. */
  revision?: number;
}

const dataDir = await mkdtemp(join(tmpdir(), 'factum-crash-'));
const logPath = join(dataDir, 'databases', 'crashy', 'events.log');
/** The server running now: killed after the test, so a failed assertion leaves no process behind. */
let running: ChildServer | undefined;
afterAll(async () => {
  if (running && running.process.exitCode === null && running.process.signalCode === null) running.process.kill('SIGKILL');
  await running?.exited;
  await rm(dataDir, { recursive: true, force: true });
});
const startServer = async () => (running = await startChildServer(['--data-dir', dataDir, '--log-level', 'info']));

const keyOf = (event: { source?: unknown; id?: unknown }) => `${String(event.source)}/${String(event.id)}`;

/** The whole frames of a log file: the stored bytes of each event, and where the last frame ends. */
function framesOf(log: Buffer): { events: Buffer[]; end: number } {
  const events: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const parsed = parseFrame(log, pos, 0);
    if (parsed.kind !== 'frame') return { events, end: pos };
    for (const e of parsed.events) events.push(log.subarray(e.offset, e.offset + e.length));
    pos += parsed.size;
  }
}

/** Every page of events the server serves, as the response bodies' text. */
async function servedPages(url: string): Promise<string[]> {
  const pages: string[] = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${url}/databases/crashy/events?limit=10000&after=${after}`);
    const text = await res.text();
    pages.push(text);
    const body = JSON.parse(text) as { events: Array<{ revision: number }>; has_more: boolean };
    if (!body.has_more) return pages;
    after = body.events.at(-1)!.revision;
  }
}

it('loses no acknowledged event and tears no transaction across repeated SIGKILLs', async () => {
  const sent: SentTransaction[] = [];
  /** The stored bytes of each acknowledged event, as first read after a recovery. */
  const acknowledgedBytes = new Map<string, Buffer>();
  let server = await startServer();
  expect((await fetch(`${server.url}/databases`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"crashy"}' })).status).toBe(201);

  for (let round = 0; round < 5; round++) {
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; !stop; n++) {
        const size = 1 + ((w + n) % 3);
        const tx: SentTransaction = {
          events: Array.from({ length: size }, (_, i) => ({
            specversion: '1.0',
            id: `r${round}-w${w}-n${n}-${i}`,
            source: `writer-${w}`,
            type: 'Written',
            subject: `s-${n % 5}`,
            data: { round, w, n, i, pad: 'p'.repeat((n * 37) % 500), unicode: 'ünïcødé ✓' },
          })),
        };
        sent.push(tx);
        try {
          const res = await fetch(`${server.url}/databases/crashy/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ events: tx.events }),
          });
          if (res.status === 200) tx.revision = ((await res.json()) as { revision: number }).revision;
        } catch {
          return; // the server died mid-request: this transaction was not acknowledged
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300 + round * 150));
    server.process.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await server.exited;

    // What the killed process left on disk, before recovery touches it.
    const killedLog = await readFile(logPath);
    server = await startServer();
    const recoveredLog = await readFile(logPath);

    // Recovery changes no stored byte: it can only cut a torn tail, at the end of the last whole frame.
    const { end } = framesOf(killedLog);
    expect(recoveredLog.length).toBe(end);
    expect(recoveredLog.equals(killedLog.subarray(0, end)), 'recovered log is the killed log up to its last whole frame').toBe(true);

    const storedEvents = framesOf(recoveredLog).events;
    const stored = storedEvents.map((bytes) => bytes.toString('utf8'));
    // The server serves the stored texts as they are, in revision order, and nothing else.
    const pages = await servedPages(server.url);
    let served = 0;
    for (const page of pages) {
      const count = (JSON.parse(page) as { events: unknown[] }).events.length;
      expect(page.startsWith(`{"events":[${stored.slice(served, served + count).join(',')}]`), `page after revision ${served}`).toBe(true);
      served += count;
    }
    expect(served).toBe(stored.length);
    const byKey = new Map(stored.map((text, i) => [keyOf(JSON.parse(text) as { source: string; id: string }), storedEvents[i]!]));

    // Revisions are dense from 1.
    stored.forEach((text, i) => expect((JSON.parse(text) as { revision: number }).revision).toBe(i + 1));
    const acknowledged = sent.filter((t) => t.revision !== undefined);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const tx of sent) {
      const present = tx.events.map((e) => byKey.get(keyOf(e)));
      // All or nothing, per transaction.
      expect(new Set(present.map((p) => p === undefined)).size).toBe(1);
      if (tx.revision === undefined) continue;
      expect(present.every((p) => p !== undefined)).toBe(true);
      tx.events.forEach((event, i) => {
        const bytes = present[i]!;
        const { revision, recordedtime } = JSON.parse(bytes.toString('utf8')) as { revision: number; recordedtime: string };
        expect(revision).toBe(tx.revision! - tx.events.length + 1 + i);
        // The stored bytes are exactly the sent event plus the two assigned attributes...
        const key = keyOf(event);
        expect(bytes.equals(Buffer.from(JSON.stringify({ ...event, revision, recordedtime }))), `stored bytes of ${key}`).toBe(true);
        // ...and stay the same bytes through every later crash and recovery.
        const before = acknowledgedBytes.get(key);
        if (before) expect(bytes.equals(before), `stored bytes of ${key} changed since an earlier recovery`).toBe(true);
        else acknowledgedBytes.set(key, Buffer.from(bytes));
      });
    }
  }
  server.process.kill('SIGTERM');
  expect((await server.exited).code).toBe(0);
}, 120_000);
