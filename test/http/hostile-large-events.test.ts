/**
 * A 5 MiB event made its console page 5 MB of HTML, more than a browser lays out in a `<pre>`.
 * Pages now show the first DATA_PREVIEW_BYTES of an event's data, say that it was cut and how
 * big it is, and link to the whole event as JSON; the API still serves it whole.
 */
import { describe, expect, it } from 'vitest';
import { DATA_PREVIEW_BYTES } from '../../src/http/console/event-view.ts';
import { createFz, useServer } from '../fuzz/test-server.ts';
import type { TestServer } from '../support/server.ts';

const big = { items: Array.from({ length: 60_000 }, (_, n) => ({ n, text: `é${'x'.repeat(60)}` })) };
const prettyBytes = Buffer.byteLength(JSON.stringify(big, null, 2));

const server = useServer({}, async (ts: TestServer) => {
  await createFz(ts);
  const event = { specversion: '1.0', id: 'big', source: 's', type: 'Big', data: big, bigext: 'y'.repeat(100_000) };
  const small = { specversion: '1.0', id: 'small', source: 's', type: 'Small', data: { ok: true } };
  // Text whose two-byte characters start at an odd byte, so the cut falls inside one.
  const text = { specversion: '1.0', id: 'text', source: 's', type: 'Text', data: `x${'é'.repeat(100_000)}` };
  expect((await ts.client.post('/databases/fz/events', { events: [event, small, text] })).status).toBe(200);
});
const get = (path: string) => server.ts.client.get(path);

/** What a page says about a cut: the sizes, and where the whole event is. */
function expectCutPreview(html: string) {
  expect(html.length).toBeLessThan(4 * DATA_PREVIEW_BYTES);
  expect(html).toMatch(/The data is [\d.]+ MiB; the first 64 KiB are shown\. <a href="\/databases\/fz\/events\/1">The whole event, as JSON<\/a>/);
  // The start of the pretty-printed data, cut on a character, not inside one.
  expect(html).toContain('&quot;items&quot;: [\n    {\n      &quot;n&quot;: 0,');
  expect(html).not.toContain('\uFFFD');
  // An extension attribute is cut too.
  expect(html).toContain(`${'y'.repeat(1024)}… (97.7 KiB in all)`);
}

describe('an event too large to show whole', () => {
  it('shows the start of its data on its page, with its size and a link to the whole event', async () => {
    expect(prettyBytes).toBeGreaterThan(4 * 1024 * 1024);
    const page = await get('/databases/fz/console/events/1');
    expect(page.status).toBe(200);
    expectCutPreview(page.text);
  });

  it('shows the same in an opened result row', async () => {
    const row = await get('/databases/fz/console/events/1/row?expanded=true');
    expect(row.status).toBe(200);
    expectCutPreview(row.text);
  });

  it('keeps the pages that list it small', async () => {
    for (const path of ['/databases/fz/console', '/databases/fz/query-builder?direction=forward&limit=50', '/databases/fz/query-builder/results?direction=forward&limit=50']) {
      const page = await get(path);
      expect(page.status, path).toBe(200);
      expect(page.text.length, path).toBeLessThan(64 * 1024);
    }
  });

  it('cuts text between characters', async () => {
    const page = await get('/databases/fz/console/events/3');
    expect(page.text).toContain('The data is 195.3 KiB; the first 64 KiB are shown.');
    const shown = /<pre class="data" tabindex="0"><code>(x[^<]*)<\/code><\/pre>/.exec(page.text)![1]!;
    expect(shown).toBe(`x${'é'.repeat((DATA_PREVIEW_BYTES - 2) / 2)}`);
  });

  it('is served whole by the API', async () => {
    const raw = await get('/databases/fz/events/1');
    expect(raw.body.data).toEqual(big);
  });

  it('leaves small events as they were', async () => {
    const page = await get('/databases/fz/console/events/2');
    expect(page.text).toContain('&quot;ok&quot;: true');
    expect(page.text).not.toContain('are shown.');
  });
});
