/**
 * A client that stops reading: the server keeps what it buffers for it within the bound (it
 * stops reading events for it instead), keeps serving the others, and after the time limit
 * ends its stream with a frame saying where to resume.
 */
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { openNdjson, revisionsOf, type WireFrame } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

const BOUND = 64 * 1024;
const STALL_MS = 1500;
const EVENT_DATA = 'x'.repeat(8 * 1024);

let ts: SubscriptionServer;
beforeAll(async () => {
  ts = await startSubscriptionServer({ storage: 'file' }, { maxBufferedBytes: BOUND, slowConsumerTimeoutMs: STALL_MS, heartbeatMs: 200 });
  expect((await ts.client.post('/databases', { name: 'firehose' })).status).toBe(201);
});
afterAll(() => ts?.stop());

/** Opens a subscription and reads nothing of it: the response stays paused. */
function openStalled(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const url = new URL(ts.url + path);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { accept: 'application/x-ndjson' } }, (res) => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
}

async function appendBig(count: number): Promise<number> {
  let revision = 0;
  for (let i = 0; i < count; i += 200) {
    const events = Array.from({ length: 200 }, () => cloudEvent({ data: { pad: EVENT_DATA } }));
    revision = (await ts.client.post('/databases/firehose/events', { events })).body.revision as number;
  }
  return revision;
}

it('bounds what it buffers for a client that stops reading, serves the others, and ends the stalled stream with where to resume', async () => {
  const stalled = await openStalled('/databases/firehose/subscriptions');
  const healthy = await openNdjson(`${ts.url}/databases/firehose/subscriptions`);
  await healthy.until((f) => f.type === 'caught_up');

  // ~32 MB of events: far more than the kernel's socket buffers take for the stalled client.
  let most = 0;
  const sampling = setInterval(() => (most = Math.max(most, ...ts.hub.stats().buffered)), 5);
  const head = await appendBig(4000);
  const received = await healthy.until((f) => f.type === 'event' && f.revision === head, 15_000);
  expect(revisionsOf(received)).toHaveLength(head);

  // The stalled subscription is ended once it has taken nothing for the time limit.
  const deadline = Date.now() + STALL_MS + 5000;
  while (ts.hub.stats().open > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  clearInterval(sampling);
  expect(ts.hub.stats().open).toBe(1);
  // Never more than the bound plus the one frame that crossed it (an event is ~8 KiB).
  expect(most).toBeGreaterThan(BOUND / 2);
  expect(most).toBeLessThan(BOUND + 16 * 1024);

  // The others are still served live.
  const more = await appendBig(200);
  expect(revisionsOf(await healthy.until((f) => f.type === 'event' && f.revision === more, 5000))).toHaveLength(200);

  // The stalled client reads at last: what it was sent, then the end frame saying where to resume.
  const frames = await readRest(stalled);
  const last = frames.at(-1)!;
  const events = revisionsOf(frames);
  expect(last).toEqual({ type: 'end', reason: 'slow_consumer', resume_after: events.at(-1) });
  expect(events).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
  expect(events.length).toBeLessThan(head);
  healthy.close();
}, 60_000);

function readRest(res: IncomingMessage): Promise<WireFrame[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as WireFrame)));
    res.on('error', reject);
    res.resume();
  });
}
