/**
 * Server-Sent Events in a real browser: Chromium's EventSource in a page the server serves
 * (the console), following a subscription, and resuming with Last-Event-ID after the server
 * dropped the connection (it restarts on the same port and data).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, type Browser } from '../browser/chromium.ts';
import { cloudEvent } from '../support/http.ts';
import { startSubscriptionServer, type SubscriptionServer } from './support/server.ts';

interface Received {
  id: string;
  frame: { type: string; revision?: number; after?: number; reason?: string };
}

let browser: Browser;
let ts: SubscriptionServer;
beforeAll(async () => {
  browser = await launchChromium();
  ts = await startSubscriptionServer({ storage: 'file' });
});
afterAll(async () => {
  await browser?.close();
  await ts?.stop();
});

async function append(type: string, count = 1): Promise<number> {
  const events = Array.from({ length: count }, () => cloudEvent({ type }));
  return (await ts.client.post('/databases/feed/events', { events })).body.revision as number;
}

/** What the page's EventSource received so far. */
const received = (page: Page) => page.evaluate(() => (window as unknown as { received: Received[] }).received);

async function waitForFrame(page: Page, test: (r: Received) => boolean, timeoutMs = 10_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await received(page);
    if (all.some(test)) return all;
    if (Date.now() > deadline) throw new Error(`not received in time; got ${JSON.stringify(all.slice(-4))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('follows a subscription in the browser and resumes after the last event id when the server drops it', async () => {
  expect((await ts.client.post('/databases', { name: 'feed' })).status).toBe(201);
  await append('A', 2);
  await append('B');

  const page = await browser.newPage();
  await page.goto(`${ts.url}/`);
  await page.evaluate((path) => {
    const w = window as unknown as { received: Received[]; source: EventSource };
    w.received = [];
    w.source = new EventSource(path);
    w.source.onmessage = (message) => w.received.push({ id: message.lastEventId, frame: JSON.parse(message.data) });
  }, '/databases/feed/subscriptions?event_type=A');

  const before = await waitForFrame(page, (r) => r.frame.type === 'caught_up');
  expect(before.map((r) => [r.frame.type, r.id])).toEqual([
    ['subscribed', ''],
    ['event', '1'],
    ['event', '2'],
    ['caught_up', '3'],
  ]);
  const live = await append('A');
  await waitForFrame(page, (r) => r.frame.revision === live);

  // The server stops (its streams end with `end`, `shutdown`) and comes back on the same port.
  const port = new URL(ts.url).port;
  await ts.close();
  ts = await startSubscriptionServer({ storage: 'file', dataDir: ts.dataDir, port });
  // Appended while the browser was away: it gets them on reconnecting, after its last id.
  const whileAway = await append('A', 2);
  await append('B');
  const all = await waitForFrame(page, (r) => r.frame.revision === whileAway);
  const resumed = all.filter((r) => r.frame.type === 'subscribed').at(-1)!;
  expect(resumed.frame.after).toBe(live);
  expect(all.some((r) => r.frame.type === 'end' && r.frame.reason === 'shutdown')).toBe(true);
  const last = await append('A');
  const final = await waitForFrame(page, (r) => r.frame.revision === last);

  const events = final.filter((r) => r.frame.type === 'event').map((r) => Number(r.id));
  expect(events).toEqual([1, 2, live, whileAway - 1, whileAway, last]);
  expect(browser.pageErrors).toEqual([]);
  await page.close();
}, 60_000);
