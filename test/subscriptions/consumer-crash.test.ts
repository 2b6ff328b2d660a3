/**
 * A durable consumer across crashes: the server process is SIGKILLed while a client reads as the
 * consumer and acknowledges, and writers append. After each restart on the same data, the
 * consumer resumes right after its last acknowledged revision: at least the last ack that was
 * answered, at most the last one sent (one in flight may or may not have been stored).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { ChildServer } from '../support/child-server.ts';
import { cloudEvent } from '../support/http.ts';
import { openNdjson } from './support/frames.ts';
import { startSubscriptionChild } from './support/server.ts';

const CRASHES = 3;
const dataDir = await mkdtemp(join(tmpdir(), 'factum-consumer-crash-'));
let running: ChildServer | undefined;
afterAll(async () => {
  if (running && running.process.exitCode === null && running.process.signalCode === null) running.process.kill('SIGKILL');
  await running?.exited;
  await rm(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(running!.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

it('resumes right after the last acknowledged revision after every SIGKILL', async () => {
  running = await startSubscriptionChild(dataDir);
  expect((await post('/databases', { name: 'jobs' })).status).toBe(201);
  expect((await post('/databases/jobs/consumers', { name: 'worker', selectors: [{ event_type: 'Job' }] })).status).toBe(201);

  /** The last ack answered, and the last one sent, of the round before a crash. */
  let acks = { answered: 0, sent: 0 };
  for (let crash = 0; crash <= CRASHES; crash++) {
    const stream = await openNdjson(`${running.url}/databases/jobs/subscriptions?consumer=worker`);
    const subscribed = (await stream.next())!;
    expect(subscribed.type).toBe('subscribed');
    if (crash > 0) {
      // Where the previous round's acks left it.
      expect(subscribed.after).toBeGreaterThanOrEqual(acks.answered);
      expect(subscribed.after).toBeLessThanOrEqual(acks.sent);
      const first = await stream.until((f) => f.type === 'event' || f.type === 'caught_up');
      const expected = await firstJobAfter(subscribed.after!);
      if (expected !== undefined) expect(first.at(-1)).toMatchObject({ type: 'event', revision: expected });
      const consumer = await (await fetch(`${running.url}/databases/jobs/consumers/worker`)).json();
      expect(consumer.position).toBe(subscribed.after);
    }
    if (crash === CRASHES) {
      stream.close();
      break;
    }

    // Writers append jobs and noise; the reader acks every few jobs, waiting for each answer.
    acks = { answered: subscribed.after!, sent: subscribed.after! };
    const stop = { now: false };
    const writer = (async () => {
      while (!stop.now) {
        const events = Array.from({ length: 3 }, (_, i) => cloudEvent({ type: i === 1 ? 'Noise' : 'Job' }));
        await post('/databases/jobs/events', { events }).catch(() => (stop.now = true));
      }
    })();
    const reader = (async () => {
      let unacked = 0;
      for (;;) {
        const frame = await stream.next(10_000).catch(() => undefined);
        if (!frame) return;
        if (frame.type !== 'event' || ++unacked < 4) continue;
        unacked = 0;
        acks.sent = frame.revision!;
        const answer = await post('/databases/jobs/consumers/worker/ack', { revision: frame.revision }).catch(() => undefined);
        if (answer?.status !== 200) return;
        acks.answered = ((await answer.json()) as { position: number }).position;
      }
    })();
    await new Promise((r) => setTimeout(r, 700 + Math.random() * 600));
    running.process.kill('SIGKILL');
    await running.exited;
    stop.now = true;
    await Promise.all([writer, reader]);
    stream.close();
    expect(acks.answered).toBeGreaterThan(0);
    running = await startSubscriptionChild(dataDir);
  }
}, 90_000);

/** The revision of the first Job after `after`, read from the restarted server. */
async function firstJobAfter(after: number): Promise<number | undefined> {
  const reply = await post('/databases/jobs/query', { selectors: [{ event_type: 'Job' }], revision_range: { start: after + 1 }, limit: 1 });
  return ((await reply.json()) as { events: Array<{ revision: number }> }).events[0]?.revision;
}
