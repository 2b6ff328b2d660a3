/** Open subscriptions and durable consumers' lag, read at scrape time from a real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { openNdjson } from '../subscriptions/support/frames.ts';
import { scrape, type Scrape } from './scrape.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ storage: 'file', subscriptionPollMs: '100' });
});
afterAll(() => ts?.stop());

const gauges = (s: Scrape) => ({
  open: s.value('factum_subscriptions_open'),
  consumers: s.value('factum_consumers_connected'),
  lag: s.value('factum_consumer_lag_revisions_max'),
});

/** Scrapes until the gauges read `expected` (a closed stream is let go a moment after the client leaves). */
async function gaugesReach(expected: ReturnType<typeof gauges>): Promise<void> {
  const deadline = Date.now() + 5000;
  let seen = gauges(await scrape(ts.client));
  while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    seen = gauges(await scrape(ts.client));
  }
  expect(seen).toEqual(expected);
}

describe('subscription gauges', () => {
  it('show open subscriptions and how far the consumers read here are behind', async () => {
    expect((await ts.client.post('/databases', { name: 'feed' })).status).toBe(201);
    const append = (n: number) => ts.client.post('/databases/feed/events', { events: Array.from({ length: n }, () => cloudEvent({ type: 'A' })) });
    await append(5);
    expect((await ts.client.post('/databases/feed/consumers', { name: 'reader' })).status).toBe(201);
    expect(gauges(await scrape(ts.client))).toEqual({ open: 0, consumers: 0, lag: 0 });

    const asConsumer = await openNdjson(`${ts.server.url}/databases/feed/subscriptions?consumer=reader`);
    await asConsumer.until((f) => f.type === 'caught_up');
    expect(gauges(await scrape(ts.client))).toEqual({ open: 1, consumers: 1, lag: 5 });

    expect((await ts.client.post('/databases/feed/consumers/reader/ack', { revision: 3 })).status).toBe(200);
    await append(2);
    const plain = await openNdjson(`${ts.server.url}/databases/feed/subscriptions`);
    await plain.until((f) => f.type === 'caught_up');
    expect(gauges(await scrape(ts.client))).toEqual({ open: 2, consumers: 1, lag: 7 - 3 });

    asConsumer.close();
    plain.close();
    await gaugesReach({ open: 0, consumers: 0, lag: 0 });
  });
});
