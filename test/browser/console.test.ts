/**
 * The admin console in a real browser: the database list, create, delete, a database's page.
 * Each test has a server of its own (the shop and an empty database) and a fresh page, so any
 * one of them runs alone; the browser is shared, being slow to start.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium, screenshot, type Browser } from './chromium.ts';
import { seedShop } from './seed.ts';

describe('console (browser)', () => {
  let ts: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    ts = await startTestServer({ storage: 'memory' });
    await seedShop(ts.client, 'shop');
    expect((await ts.client.post('/databases', { name: 'empty-one' })).status).toBe(201);
    page = await browser.newPage();
  });
  afterEach(async () => {
    await page?.close();
    await ts?.stop();
  });

  const url = (path: string) => ts.server.url + path;
  const row = (name: string) => page.locator('#databases tbody tr', { has: page.locator(`th a:text-is("${name}")`) });
  const listedNames = () => page.locator('#databases tbody th a').allTextContents();

  it('lists the databases with their latest revision and event count', async () => {
    await page.goto(url('/'));
    expect(await page.title()).toBe('Databases · Factum');
    expect(await listedNames()).toEqual(['empty-one', 'shop']);
    expect(await row('shop').locator('td.num').allTextContents()).toEqual(['19', '19']);
    expect(await row('empty-one').locator('td.num').allTextContents()).toEqual(['0', '0']);
    expect(await row('shop').locator('a:text-is("Query")').getAttribute('href')).toBe('/databases/shop/query-builder');
    await screenshot(page, 'console');
  });

  it('creates a database from the form, and says why a name is refused', async () => {
    await page.goto(url('/'));
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await page.fill('#create-name', 'fresh-db');
    const created = page.waitForResponse((r) => r.url().endsWith('/console/databases'));
    await page.click('.create-form button[type=submit]');
    expect((await created).status()).toBe(201);
    await page.locator('.notice', { hasText: 'Created database fresh-db' }).waitFor();
    expect(await listedNames()).toEqual(['empty-one', 'fresh-db', 'shop']);
    expect(await page.inputValue('#create-name')).toBe('');
    expect((await ts.client.get('/databases/fresh-db')).status).toBe(200);

    // A taken name: the server's message next to the field, the value kept.
    await page.fill('#create-name', 'shop');
    const refused = page.waitForResponse((r) => r.url().endsWith('/console/databases'));
    await page.click('.create-form button[type=submit]');
    expect((await refused).status()).toBe(409);
    await page.locator('#create-error').waitFor();
    expect(await page.textContent('#create-error')).toContain('already exists');
    expect(await page.inputValue('#create-name')).toBe('shop');
    expect(await page.getAttribute('#create-name', 'aria-invalid')).toBe('true');

    // A malformed name is stopped in the browser, by the same rule the server applies.
    let requests = 0;
    page.on('request', (r) => r.url().endsWith('/console/databases') && requests++);
    await page.fill('#create-name', 'Not A Name');
    await page.click('.create-form button[type=submit]');
    expect(await page.$eval('#create-name', (input) => (input as HTMLInputElement).validity.patternMismatch)).toBe(true);
    expect(requests).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('deletes a database only after the confirmation is accepted', async () => {
    expect((await ts.client.post('/databases', { name: 'fresh-db' })).status).toBe(201);
    await page.goto(url('/'));
    const dismissed = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.dismiss();
      }),
    );
    await row('fresh-db').locator('a:text-is("Delete")').click();
    expect(await dismissed).toContain('Delete the database “fresh-db”');
    expect(await listedNames()).toContain('fresh-db');
    expect((await ts.client.get('/databases/fresh-db')).status).toBe(200);

    page.once('dialog', (dialog) => void dialog.accept());
    await row('fresh-db').locator('a:text-is("Delete")').click();
    await page.locator('.notice', { hasText: 'Deleted database fresh-db' }).waitFor();
    expect(await listedNames()).toEqual(['empty-one', 'shop']);
    expect((await ts.client.get('/databases/fresh-db')).status).toBe(404);
  });

  it('shows a database: stats, recent events, and its state views and state changes', async () => {
    await page.goto(url('/'));
    await page.click('#databases th a:text-is("shop")');
    await page.waitForURL(url('/databases/shop/console'));
    const stats = Object.fromEntries(
      await page.locator('.stats > div').evaluateAll((items) => items.map((i) => [i.querySelector('dt')!.textContent, i.querySelector('dd')!.textContent])),
    );
    expect(stats).toMatchObject({ 'Latest revision': '19', Events: '19', 'State views': '0', 'State changes': '0' });
    // The ten most recent, newest first.
    const revisions = (await page.locator('tbody.event .col-rev a').allTextContents()).map(Number);
    expect(revisions).toEqual([19, 18, 17, 16, 15, 14, 13, 12, 11, 10]);
    expect(await page.textContent('#state-views')).toContain('No state views yet.');
    expect(await page.textContent('#state-changes')).toContain('No state changes yet.');

    await page.click('#event-19-toggle');
    await page.locator('#event-19-detail pre.data').waitFor();
    expect(JSON.parse((await page.textContent('#event-19-detail pre.data'))!)).toEqual({ name: 'Ada' });
    await screenshot(page, 'database');

    await page.click('a.button:text-is("Query builder")');
    await page.waitForURL(url('/databases/shop/query-builder'));
  });

  it('shows an empty database plainly', async () => {
    await page.goto(url('/databases/empty-one/console'));
    expect(await page.textContent('main')).toContain('No events yet.');
  });

  it('deletes a database from its own page and returns to the list', async () => {
    expect((await ts.client.post('/databases', { name: 'doomed' })).status).toBe(201);
    await page.goto(url('/databases/doomed/console'));
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('a.button:text-is("Delete database")');
    await page.waitForURL(url('/'));
    expect(await listedNames()).toEqual(['empty-one', 'shop']);
  });

  it('shows one event on its own page', async () => {
    await page.goto(url('/databases/shop/console/events/7'));
    expect(await page.textContent('h1')).toContain('Event 7');
    expect(JSON.parse((await page.textContent('pre.data'))!)).toMatchObject({ total: 50 });
    await screenshot(page, 'event');
  });

  it('reads well on a narrow screen', async () => {
    const narrow = await browser.newPage();
    await narrow.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [['/', 'console-narrow'], ['/databases/shop/console', 'database-narrow']]) {
      await narrow.goto(url(path));
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
      await screenshot(narrow, name);
    }
    await narrow.close();
  });

  it('answers an unknown database with a not-found page', async () => {
    const response = await page.goto(url('/databases/nope/console'));
    expect(response!.status()).toBe(404);
    expect(await page.textContent('h1')).toBe('Not found');
    expect(await page.textContent('.error-box')).toContain('database "nope" does not exist');
    await screenshot(page, 'not-found');
    expect(browser.pageErrors).toEqual([]);
  });
});
