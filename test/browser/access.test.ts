/**
 * In headless Chromium: a page from another local origin (another port of 127.0.0.1: the same
 * site, so even SameSite=Strict cookies go along) tries to delete a database and append an event,
 * by form posts and by fetch, against a server without keys and against a signed-in console
 * session. None of it may change anything. Then the console's sign-in, pages scoped to what the
 * key may do, and sign-out.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium, type Browser } from './chromium.ts';

const ADMIN_KEY = 'factum_browser-access-admin-key-0123456789';
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };

/** Pages of another origin, each attacking `target` in one way and reporting in `window.outcome`. */
function attackPages(target: string): Record<string, string> {
  const page = (body: string) => `<!doctype html><html><body>${body}</body></html>`;
  const event = JSON.stringify({ events: [cloudEvent({ id: 'forged', type: 'Forged' })] });
  return {
    '/form-delete': page(`<form method="post" action="${target}/databases/shop/console/delete"><input name="x" value="1"></form><script>document.forms[0].submit()</script>`),
    '/form-append': page(
      `<form method="post" enctype="text/plain" action="${target}/databases/shop/events"><input name='${event.slice(0, -2)}' value='"}]}'></form><script>document.forms[0].submit()</script>`,
    ),
    '/fetch': page(`<script>
      window.outcome = Promise.all([
        fetch(${JSON.stringify(target)} + '/databases/shop', { method: 'DELETE', mode: 'no-cors', credentials: 'include' }).then(() => 'sent', (e) => 'blocked: ' + e),
        fetch(${JSON.stringify(target)} + '/databases/shop/events', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(event)} }).then(() => 'sent', (e) => 'blocked: ' + e),
        fetch(${JSON.stringify(target)} + '/databases/shop', { method: 'DELETE', credentials: 'include' }).then((r) => 'read ' + r.status, (e) => 'blocked'),
        fetch(${JSON.stringify(target)} + '/databases', { credentials: 'include' }).then((r) => r.text(), () => 'blocked'),
      ]);
    </script>`),
  };
}

async function serveAttacks(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const pages = attackPages(target);
  const server: Server = createServer((req, res) => {
    const html = pages[req.url ?? ''];
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(html ?? 'no such page');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Chromium keeps its connections alive; they would hold the close open.
        server.closeAllConnections();
      }),
  };
}

describe('pages of another origin (Chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(() => browser?.close());

  for (const mode of ['without keys', 'with a signed-in console session'] as const) {
    it(`cannot delete a database or append an event, ${mode}`, async () => {
      const ts: TestServer = await startTestServer({ storage: 'memory' }, mode === 'without keys' ? {} : { FACTUM_ADMIN_KEY: ADMIN_KEY });
      const attacker = await serveAttacks(ts.server.url);
      try {
        expect((await ts.client.post('/databases', { name: 'shop' }, ADMIN)).status).toBe(201);
        const page = await browser.newPage();
        if (mode !== 'without keys') {
          await page.goto(`${ts.server.url}/databases/shop/console`);
          await page.fill('#sign-in-key', ADMIN_KEY);
          await page.click('button[type=submit]');
          await page.waitForURL(`${ts.server.url}/databases/shop/console`);
          expect(await page.textContent('body')).toContain('Signed in as admin');
        }
        for (const path of ['/form-delete', '/form-append']) {
          const answered = page.waitForResponse((r) => r.url().startsWith(ts.server.url) && r.request().method() === 'POST');
          await page.goto(attacker.url + path);
          expect((await answered).status(), path).toBe(403);
        }
        await page.goto(attacker.url + '/fetch');
        const outcome = (await page.evaluate('window.outcome')) as string[];
        // The no-cors requests may be sent, but the server refuses them; the CORS ones are blocked
        // before they are sent, and the list of databases is never readable by the other page.
        expect(outcome[2]).toBe('blocked');
        expect(outcome[3]).toBe('blocked');
        await page.close();
        const db = await ts.client.get('/databases/shop', ADMIN);
        expect(db.status).toBe(200);
        expect(db.body.event_count).toBe(0);
      } finally {
        await attacker.close();
        await ts.stop();
      }
    });
  }

  it('signs in, shows only what a read-only key may do, and signs out', async () => {
    const ts = await startTestServer({ storage: 'memory' }, { FACTUM_ADMIN_KEY: ADMIN_KEY });
    try {
      expect((await ts.client.post('/databases', { name: 'shop' }, ADMIN)).status).toBe(201);
      expect((await ts.client.post('/databases', { name: 'crm' }, ADMIN)).status).toBe(201);
      const reader = (await ts.client.post('/keys', { name: 'shop reader', databases: ['shop'], permissions: ['read'] }, ADMIN)).body.secret as string;
      const page = await browser.newPage();
      await page.goto(`${ts.server.url}/`);
      expect(page.url()).toBe(`${ts.server.url}/console/sign-in?next=%2F`);
      await page.fill('#sign-in-key', 'factum_wrong-key-000000000000000000000000');
      await page.click('button[type=submit]');
      expect(await page.textContent('#sign-in-error')).toContain('not valid');
      await page.fill('#sign-in-key', reader);
      await page.click('button[type=submit]');
      await page.waitForURL(`${ts.server.url}/`);
      const names = await page.locator('#databases tbody th').allTextContents();
      expect(names.map((n) => n.trim())).toEqual(['shop']);
      expect(await page.locator('.create-form').count()).toBe(0);
      expect(await page.locator('#databases a.danger').count()).toBe(0);
      await page.goto(`${ts.server.url}/databases/shop/console`);
      expect(await page.locator('text=Delete database').count()).toBe(0);
      expect(await page.locator('.upload-form').count()).toBe(0);
      // The server refuses regardless of what the page offers.
      const refused = await page.goto(`${ts.server.url}/databases/crm/console`);
      expect(refused?.status()).toBe(403);
      await page.goto(`${ts.server.url}/`);
      await page.click('.sign-out button');
      await page.waitForURL(`${ts.server.url}/console/sign-in`);
      await page.goto(`${ts.server.url}/databases/shop/console`);
      expect(page.url()).toContain('/console/sign-in?next=');
      await page.close();
      expect(browser.pageErrors).toEqual([]);
    } finally {
      await ts.stop();
    }
  });
});
