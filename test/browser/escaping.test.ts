/**
 * Event values are data, never markup: an event whose type, subject, stream and data carry
 * script and handler injections is shown as literal text on every page, and nothing runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium, screenshot, type Browser } from './chromium.ts';

// Each payload, if it ever ran, would set a flag and open a dialog; both are watched.
const SCRIPT = '<script>window.injected = "script"; alert("script")</script>';
const IMG = '"><img src=x onerror="window.injected = \'img\'; alert(\'img\')">';
const SVG = "'><svg onload=\"window.injected = 'svg'\">";

describe('escaping (browser)', () => {
  let ts: TestServer;
  let browser: Browser;
  const dialogs: string[] = [];
  let revision: number;

  beforeAll(async () => {
    [ts, browser] = await Promise.all([startTestServer({ storage: 'memory' }), launchChromium()]);
    expect((await ts.client.post('/databases', { name: 'hostile' })).status).toBe(201);
    const appended = await ts.client.post('/databases/hostile/events', {
      events: [
        {
          specversion: '1.0',
          id: IMG,
          source: SVG,
          type: SCRIPT,
          subject: IMG,
          note: SCRIPT,
          data: { html: SCRIPT, attribute: IMG, [IMG]: SVG },
        },
      ],
    });
    expect(appended.status).toBe(200);
    revision = appended.body.revision;
  });
  afterAll(async () => {
    await browser?.close();
    await ts?.stop();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const response = await page.goto(ts.server.url + path);
    expect(response!.status()).toBe(200);
    return page;
  }

  /** Nothing ran and nothing was injected: the payloads are text, not elements. */
  async function expectInert(page: Page): Promise<void> {
    const state = await page.evaluate(() => ({
      injected: (window as unknown as { injected?: string }).injected ?? null,
      images: document.querySelectorAll('img').length,
      svgs: document.querySelectorAll('svg').length,
      scripts: [...document.scripts].map((s) => s.getAttribute('src')),
      handlers: document.querySelectorAll('[onerror], [onload]').length,
    }));
    expect(state).toEqual({ injected: null, images: 0, svgs: 0, scripts: ['/assets/htmx.min.js', '/assets/htmx-ext-sse.min.js'], handlers: 0 });
    expect(dialogs).toEqual([]);
    // A refusal by the Content-Security-Policy would mean markup got through escaping.
    expect(browser.consoleErrors.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  }

  it('shows the values as text on the database page and in the opened event', async () => {
    const page = await open('/databases/hostile/console');
    expect(await page.textContent(`#event-${revision}-toggle`)).toBe(SCRIPT);
    expect(await page.textContent('tbody.event .col-subject .cell-text')).toBe(IMG);
    expect(await page.textContent('tbody.event .col-stream .cell-text')).toBe(SVG);
    expect(await page.getByText(SCRIPT, { exact: true }).isVisible()).toBe(true);

    await page.click(`#event-${revision}-toggle`);
    const detail = page.locator(`#event-${revision}-detail`);
    await detail.waitFor();
    const attributes = Object.fromEntries(
      await detail.locator('.attributes > div').evaluateAll((rows) => rows.map((r) => [r.querySelector('dt')!.textContent, r.querySelector('dd')!.textContent])),
    );
    expect(attributes).toMatchObject({ id: IMG, source: SVG, type: SCRIPT, subject: IMG, note: SCRIPT });
    expect(JSON.parse((await detail.locator('pre.data').textContent())!)).toEqual({ html: SCRIPT, attribute: IMG, [IMG]: SVG });
    await screenshot(page, 'escaping');
    await expectInert(page);
    await page.close();
  });

  it('keeps them text in the query builder: form values, the shared URL, results and suggestions', async () => {
    const query = new URLSearchParams({ event_type: SCRIPT, subject: IMG, direction: 'forward', limit: '10' });
    const page = await open(`/databases/hostile/query-builder?${query}`);
    // Values went back into attributes intact, and the query found the event by them.
    expect(await page.inputValue('#event_type-1')).toBe(SCRIPT);
    expect(await page.inputValue('#subject-1')).toBe(IMG);
    expect(await page.textContent(`#event-${revision}-toggle`)).toBe(SCRIPT);
    expect(await page.locator('#suggest-event_type option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual([SCRIPT]);

    // Run again through htmx, and ask for suggestions starting with markup.
    const ran = page.waitForResponse((r) => r.url().includes('/query-builder/results'));
    await page.click('form#query-form button.primary');
    expect((await ran).status()).toBe(200);
    await page.locator(`#event-${revision}-toggle`).waitFor();
    expect(new URL(page.url()).searchParams.get('event_type')).toBe(SCRIPT);
    await page.fill('#stream-1', '');
    const suggested = page.waitForResponse((r) => r.url().includes('/suggestions/stream'));
    await page.locator('#stream-1').pressSequentially("'>");
    await suggested;
    await page.waitForFunction((want) => document.querySelector('#suggest-stream option')?.getAttribute('value') === want, SVG);
    await expectInert(page);
    await page.close();
  });

  it('keeps them text on the event page', async () => {
    const page = await open(`/databases/hostile/console/events/${revision}`);
    expect(await page.textContent('h1 .subtitle')).toBe(SCRIPT);
    expect(await page.title()).toBe(`Event ${revision} · hostile · Factum`);
    await expectInert(page);
    await page.close();
  });
});
