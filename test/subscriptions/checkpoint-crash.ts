/**
 * A projection that commits its consumer's position with the events it derives (`consumer_ack`
 * on the append), across SIGKILLs of the server. It reads as the consumer, and for every few
 * jobs appends one `Done` event per job, with ids of its own (so source + id uniqueness cannot
 * hide a second commit), acknowledging the last job with them. After each restart every job at
 * or before the position has exactly one `Done` and none after it has any: the events and the
 * position were both stored or neither. A stale copy of the projection sending a batch again is
 * refused whole. Run on the file store and on DynamoDB (checkpoint-crash.*.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { ChildServer } from '../support/child-server.ts';
import { cloudEvent } from '../support/http.ts';
import { openNdjson } from './support/frames.ts';

const CRASHES = 3;

interface Job {
  revision: number;
}

export async function projectAcrossCrashes(start: () => Promise<ChildServer>): Promise<void> {
  let running = await start();
  const post = (path: string, body: unknown) =>
    fetch(running.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  try {
    expect((await post('/databases', { name: 'jobs' })).status).toBe(201);
    expect((await post('/databases/jobs/consumers', { name: 'projector', selectors: [{ event_type: 'Job' }] })).status).toBe(201);
    let lastBatch: { events: unknown[]; consumer_ack: { consumer: string; revision: number } } | undefined;
    let committed = 0;

    for (let crash = 0; crash <= CRASHES; crash++) {
      const position = await checkInvariant(running.url);
      if (lastBatch && lastBatch.consumer_ack.revision <= position) {
        // The same work again, from a copy that read before the position moved: nothing is written.
        const again = await post('/databases/jobs/events', { ...lastBatch, events: lastBatch.events.map((e) => ({ ...(e as object), id: randomUUID() })) });
        expect(again.status).toBe(409);
        expect(await again.json()).toMatchObject({ error: { code: 'FAILED_PRECONDITION', details: { consumer: 'projector', position } } });
        expect(await checkInvariant(running.url)).toBe(position);
      }
      if (crash === CRASHES) break;

      const stream = await openNdjson(`${running.url}/databases/jobs/subscriptions?consumer=projector`);
      expect((await stream.next())!).toMatchObject({ type: 'subscribed', after: position });
      const stop = { now: false };
      const writer = (async () => {
        while (!stop.now) {
          const events = [cloudEvent({ type: 'Job' }), cloudEvent({ type: 'Noise' }), cloudEvent({ type: 'Job' })];
          await post('/databases/jobs/events', { events }).catch(() => (stop.now = true));
        }
      })();
      const projector = (async () => {
        let batch: Job[] = [];
        for (;;) {
          const frame = await stream.next(10_000).catch(() => undefined);
          if (!frame) return;
          if (frame.type !== 'event') continue;
          batch.push({ revision: frame.revision! });
          if (batch.length < 3) continue;
          const body = {
            events: batch.map((job) => cloudEvent({ type: 'Done', source: 'projector', id: randomUUID(), data: { job: job.revision } })),
            consumer_ack: { consumer: 'projector', revision: batch.at(-1)!.revision },
          };
          lastBatch = body;
          batch = [];
          const answer = await post('/databases/jobs/events', body).catch(() => undefined);
          if (answer?.status !== 200) return;
          committed++;
        }
      })();
      await new Promise((r) => setTimeout(r, 800 + Math.random() * 700));
      running.process.kill('SIGKILL');
      await running.exited;
      stop.now = true;
      await Promise.all([writer, projector]);
      stream.close();
      running = await start();
    }
    expect(committed).toBeGreaterThan(0);
  } finally {
    if (running.process.exitCode === null && running.process.signalCode === null) running.process.kill('SIGKILL');
    await running.exited;
  }
}

/**
 * Every Job at or before the consumer's position has exactly one Done, none after it has any,
 * and the position is a Job's revision (or 0). Returns the position.
 */
async function checkInvariant(url: string): Promise<number> {
  const consumer = (await (await fetch(`${url}/databases/jobs/consumers/projector`)).json()) as { position: number };
  const all = await readAll(url);
  const jobs = all.filter((e) => e.type === 'Job').map((e) => e.revision);
  const done = all.filter((e) => e.type === 'Done').map((e) => (e.data as { job: number }).job);
  const covered = jobs.filter((r) => r <= consumer.position);
  expect([...done].sort((x, y) => x - y)).toEqual(covered);
  if (consumer.position > 0) expect(jobs).toContain(consumer.position);
  return consumer.position;
}

async function readAll(url: string): Promise<Array<{ revision: number; type: string; data?: unknown }>> {
  const events: Array<{ revision: number; type: string; data?: unknown }> = [];
  for (let start = 1; ; ) {
    const reply = await fetch(`${url}/databases/jobs/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revision_range: { start }, limit: 10_000 }),
    });
    const page = (await reply.json()) as { events: Array<{ revision: number; type: string; data?: unknown }>; has_more: boolean };
    events.push(...page.events);
    if (!page.has_more) return events;
    start = page.events.at(-1)!.revision + 1;
  }
}
