/**
 * The hand-over from past to live events, under fire: 8 writers append continuously while 20
 * subscribers (NDJSON and WebSocket, various selectors) start at random revisions. Each must
 * receive every matching revision after its start exactly once, in order, with `caught_up`
 * once, between the past and the live part.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { openNdjson, openWebSocket, revisionsOf, type FrameReader, type WireFrame } from './support/frames.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

const WRITERS = 8;
const SUBSCRIBERS = 20;
const WRITE_MS = 4000;
const TYPES = ['A', 'B', 'C'];

interface Stored {
  revision: number;
  type: string;
  subject: string;
}

/** Selectors as sent, each with the same rule as a local predicate. */
const SELECTORS: Array<{ query: string; body?: unknown; matches: (e: Stored) => boolean }> = [
  { query: '', matches: () => true },
  { query: 'event_type=A', matches: (e) => e.type === 'A' },
  { query: 'subject=s-3', matches: (e) => e.subject === 's-3' },
  { query: 'event_type=B&subject=s-1', matches: (e) => e.type === 'B' && e.subject === 's-1' },
  {
    query: '',
    body: { selectors: [{ event_type: 'C' }, { type: 'starts_with', attr: { subject: 's-2' } }] },
    matches: (e) => e.type === 'C' || e.subject.startsWith('s-2'),
  },
];

let ts: SubscriptionServer;
beforeAll(async () => {
  ts = await startSubscriptionServer({ storage: 'file' }, { heartbeatMs: 100 });
  expect((await ts.client.post('/databases', { name: 'busy' })).status).toBe(201);
});
afterAll(() => ts?.stop());

const randomInt = (n: number) => Math.floor(Math.random() * n);

async function head(): Promise<number> {
  return (await ts.client.get('/databases/busy')).body.latest_revision as number;
}

it('delivers every matching event exactly once, in order, across the hand-over, while 8 writers append', async () => {
  // Some history first, so subscribers have a past to catch up on.
  for (let i = 0; i < 4; i++) {
    const events = Array.from({ length: 250 }, () => cloudEvent({ type: TYPES[randomInt(3)], subject: `s-${randomInt(5)}` }));
    expect((await ts.client.post('/databases/busy/events', { events })).status).toBe(200);
  }

  const writing = { until: Date.now() + WRITE_MS };
  const writers = Array.from({ length: WRITERS }, async () => {
    let transactions = 0;
    while (Date.now() < writing.until) {
      const events = Array.from({ length: 1 + randomInt(5) }, () => cloudEvent({ type: TYPES[randomInt(3)], subject: `s-${randomInt(5)}` }));
      const reply = await ts.client.post('/databases/busy/events', { events });
      expect(reply.status).toBe(200);
      transactions++;
    }
    return transactions;
  });

  const subscribers: Array<{ after: number; selector: (typeof SELECTORS)[number]; stream: FrameReader & { close(): void } }> = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    await new Promise((r) => setTimeout(r, randomInt(WRITE_MS / SUBSCRIBERS)));
    const after = randomInt((await head()) + 1);
    const selector = SELECTORS[i % SELECTORS.length]!;
    const path = `/databases/busy/subscriptions`;
    let stream: FrameReader & { close(): void };
    if (selector.body) {
      stream = await openNdjson(ts.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...selector.body, after }) });
    } else if (i % 2 === 0) {
      stream = await openNdjson(`${ts.url}${path}?after=${after}&${selector.query}`);
    } else {
      stream = await openWebSocket(`${ts.url}${path}?after=${after}&${selector.query}`);
    }
    subscribers.push({ after, selector, stream });
  }
  const transactions = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
  expect(transactions).toBeGreaterThan(100);

  const final = await head();
  const stored = await allEvents();
  expect(stored).toHaveLength(final);

  for (const { after, selector, stream } of subscribers) {
    const expected = stored.filter((e) => e.revision > after && selector.matches(e)).map((e) => e.revision);
    // Read until its position reached the final head: a heartbeat says so once it is idle.
    const frames = await stream.until((f) => f.type === 'heartbeat' && f.revision === final, 20_000);
    const received = revisionsOf(frames);
    expect(frames[0]).toEqual({ type: 'subscribed', after });
    expect(received).toEqual(expected);
    const caughtUp = frames.filter((f) => f.type === 'caught_up');
    expect(caughtUp).toHaveLength(1);
    const at = frames.indexOf(caughtUp[0]!);
    const boundary = caughtUp[0]!.revision!;
    expect(revisionsOf(frames.slice(0, at)).every((r) => r <= boundary)).toBe(true);
    expect(revisionsOf(frames.slice(at)).every((r) => r > boundary)).toBe(true);
    expect(frames.filter((f: WireFrame) => f.type === 'error' || f.type === 'end')).toEqual([]);
    stream.close();
  }
}, 60_000);

/** Every stored event's revision, type and subject, in revision order. */
async function allEvents(): Promise<Stored[]> {
  const events: Stored[] = [];
  for (let after = 0; ; ) {
    const page = (await ts.client.get(`/databases/busy/events?after=${after}&limit=10000`)).body as { events: Stored[]; has_more: boolean };
    events.push(...page.events.map(({ revision, type, subject }) => ({ revision, type, subject })));
    if (!page.has_more) return events;
    after = events.at(-1)!.revision;
  }
}
