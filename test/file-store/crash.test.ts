/**
 * A server process under concurrent appends is killed with SIGKILL, again and again. After each
 * restart every acknowledged event must be there, byte for byte, with dense revisions, and no
 * transaction may be half-stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startChildServer } from '../support/child-server.ts';

interface SentTransaction {
  events: Array<Record<string, unknown>>;
  /** The revision of the last event, once acknowledged. */
  revision?: number;
}

const dataDir = await mkdtemp(join(tmpdir(), 'factum-crash-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function readAll(url: string): Promise<string[]> {
  // The raw text of each stored event, in revision order.
  const out: string[] = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${url}/databases/crashy/events?limit=10000&after=${after}`);
    const text = await res.text();
    const body = JSON.parse(text) as { events: Array<{ revision: number }>; has_more: boolean };
    // Split the stored JSON texts back out of the page to compare bytes, not just values.
    for (const event of body.events) out.push(JSON.stringify(event));
    if (!body.has_more) return out;
    after = body.events.at(-1)!.revision;
  }
}

it('loses no acknowledged event and tears no transaction across repeated SIGKILLs', async () => {
  const sent: SentTransaction[] = [];
  let server = await startChildServer(['--data-dir', dataDir, '--log-level', 'info']);
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

    server = await startChildServer(['--data-dir', dataDir, '--log-level', 'info']);
    const stored = await readAll(server.url);
    const byId = new Map(stored.map((text) => [(JSON.parse(text) as { source: string; id: string }).source + '/' + (JSON.parse(text) as { id: string }).id, text]));

    // Revisions are dense from 1.
    stored.forEach((text, i) => expect((JSON.parse(text) as { revision: number }).revision).toBe(i + 1));
    const acknowledged = sent.filter((t) => t.revision !== undefined);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const tx of sent) {
      const present = tx.events.map((e) => byId.get(`${e.source}/${e.id}`));
      // All or nothing, per transaction.
      expect(new Set(present.map((p) => p === undefined)).size).toBe(1);
      if (tx.revision !== undefined) {
        expect(present.every((p) => p !== undefined)).toBe(true);
        tx.events.forEach((event, i) => {
          const storedText = present[i]!;
          const { revision, recordedtime } = JSON.parse(storedText) as { revision: number; recordedtime: string };
          expect(revision).toBe(tx.revision! - tx.events.length + 1 + i);
          // Byte-identical: the stored text is exactly the sent event plus the two assigned attributes.
          expect(storedText).toBe(JSON.stringify({ ...event, revision, recordedtime }));
        });
      }
    }
  }
  server.process.kill('SIGTERM');
  expect((await server.exited).code).toBe(0);
}, 120_000);
