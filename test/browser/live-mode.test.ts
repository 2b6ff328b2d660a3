/**
 * Live mode and the consumers list in a real browser, against a real server: events appended
 * through the API appear on the database page and in the query builder without a reload, the
 * query builder's live mode shows only events its selectors match, stopping live mode closes
 * the stream, and the consumers section shows a consumer's lag, which moves after an ack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium, screenshot, type Browser } from './chromium.ts';

describe('live mode and consumers (browser)', () => {
  let ts: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    [ts, browser] = await Promise.all([startTestServer({ storage: 'memory' }), launchChromium()]);
    expect((await ts.client.post('/databases', { name: 'live' })).status).toBe(201);
    await append(cloudEvent({ type: 'OrderCreated', subject: 'order-1' }));
  });
  afterAll(async () => {
    await browser?.close();
    await ts?.stop();
  });

  async function append(...events: Array<Record<string, unknown>>): Promise<number> {
    const reply = await ts.client.post('/databases/live/events', { events });
    expect(reply.status).toBe(200);
    return reply.body.revision as number;
  }

  const liveRevisions = async (page: Page) => (await page.locator('table.live-events tbody.event .col-rev a').allTextContents()).map((t) => Number(t.trim()));
  const markNotReloaded = (page: Page) => page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  const notReloaded = (page: Page) => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);

  /** Waits until the live stream says it follows (its first status message arrived). */
  const following = (page: Page) => page.locator('#live-events [role="status"]', { hasText: 'Live:' }).waitFor();

  it('shows events appended through the API on the database page as they arrive', async () => {
    const page = await browser.newPage();
    await page.goto(`${ts.server.url}/databases/live/console`);
    await markNotReloaded(page);
    await expect(page.locator('table.live-events').count()).resolves.toBe(0);

    await page.getByRole('button', { name: 'Start live mode' }).click();
    await following(page);
    const first = await append(cloudEvent({ type: 'OrderPaid', subject: 'order-1' }));
    await page.locator('table.live-events tbody.event', { hasText: 'OrderPaid' }).waitFor();
    const second = await append(cloudEvent({ type: 'OrderShipped', subject: 'order-1' }), cloudEvent({ type: 'OrderCreated', subject: 'order-2' }));
    await page.waitForFunction((n) => document.querySelectorAll('table.live-events tbody.event').length === n, 3);
    expect(await liveRevisions(page)).toEqual([first, second - 1, second]);
    expect(await notReloaded(page)).toBe(true);

    // A live row opens in place like any other.
    await page.locator('table.live-events tbody.event', { hasText: 'OrderShipped' }).getByRole('button').click();
    await page.locator('table.live-events .event-detail').waitFor();
    await screenshot(page, 'live-database-page');

    // Stopped, the stream is closed: what is appended then does not show.
    await page.getByRole('button', { name: 'Stop live mode' }).click();
    await page.getByRole('button', { name: 'Start live mode' }).waitFor();
    await append(cloudEvent({ type: 'OrderCancelled' }));
    await page.waitForTimeout(500);
    await expect(page.locator('table.live-events').count()).resolves.toBe(0);
    expect(browser.pageErrors).toEqual([]);
    await page.close();
  });

  it('tails only the events the query builder’s selectors match', async () => {
    const page = await browser.newPage();
    await page.goto(`${ts.server.url}/databases/live/query-builder`);
    await markNotReloaded(page);
    await page.fill('#event_type-1', 'OrderPaid');
    await page.getByRole('button', { name: 'Start live mode' }).click();
    await following(page);

    const created = await append(cloudEvent({ type: 'OrderCreated', subject: 'order-3' }));
    const paid = await append(cloudEvent({ type: 'OrderPaid', subject: 'order-3' }));
    const mixed = await append(cloudEvent({ type: 'OrderShipped', subject: 'order-3' }), cloudEvent({ type: 'OrderPaid', subject: 'order-4' }));
    await page.waitForFunction((n) => document.querySelectorAll('table.live-events tbody.event').length === n, 2);
    // A moment more: an event that should not show has had time to.
    await page.waitForTimeout(300);
    expect(await liveRevisions(page)).toEqual([paid, mixed]);
    expect(created).toBeLessThan(paid);
    const types = await page.locator('table.live-events tbody.event .col-type').allTextContents();
    expect(types.map((t) => t.trim())).toEqual(['OrderPaid', 'OrderPaid']);
    expect(await notReloaded(page)).toBe(true);
    await screenshot(page, 'live-query-builder');
    expect(browser.pageErrors).toEqual([]);
    await page.close();
  });

  it('refuses to start on selectors the query would refuse, in place', async () => {
    const page = await browser.newPage();
    await page.goto(`${ts.server.url}/databases/live/query-builder`);
    await page.fill('#extension_value-1', 'x');
    await page.getByRole('button', { name: 'Start live mode' }).click();
    await page.locator('#live-events [role="alert"]', { hasText: 'Live mode could not start' }).waitFor();
    await expect(page.locator('table.live-events').count()).resolves.toBe(0);
    await page.close();
  });

  it('lists consumers with position, lag and last ack, and shows the lag move after an ack', async () => {
    expect((await ts.client.post('/databases/live/consumers', { name: 'billing', selectors: [{ event_type: 'OrderPaid' }] })).status).toBe(201);
    const paid = (await ts.client.post('/databases/live/query', { selectors: [{ event_type: 'OrderPaid' }] })).body.events as Array<{ revision: number }>;
    expect(paid.length).toBe(3);

    const page = await browser.newPage();
    await page.goto(`${ts.server.url}/databases/live/console`);
    await markNotReloaded(page);
    const row = page.locator('#consumers tr#consumer-billing');
    await expect(row.locator('[data-label="Position"]').textContent()).resolves.toBe('0');
    await expect(row.locator('[data-label="Lag"]').textContent()).resolves.toBe('3');
    await expect(row.locator('[data-label="Last ack"]').textContent()).resolves.toContain('never');

    expect((await ts.client.post('/databases/live/consumers/billing/ack', { revision: paid[1]!.revision })).status).toBe(200);
    await row.locator('[data-label="Lag"]', { hasText: /^1$/ }).waitFor();
    await expect(row.locator('[data-label="Position"]').textContent()).resolves.toBe(String(paid[1]!.revision));
    await expect(row.locator('[data-label="Last ack"]').textContent()).resolves.toMatch(/^\d{4}-\d{2}-\d{2} /);

    // An ack committed with an append moves it too.
    const derived = await ts.client.post('/databases/live/events', {
      events: [cloudEvent({ type: 'Invoiced' })],
      consumer_ack: { consumer: 'billing', revision: paid[2]!.revision },
    });
    expect(derived.status).toBe(200);
    await row.locator('[data-label="Lag"]', { hasText: /^0$/ }).waitFor();
    expect(await notReloaded(page)).toBe(true);
    await screenshot(page, 'consumers-section');
    expect(browser.pageErrors).toEqual([]);
    await page.close();
  });
});
