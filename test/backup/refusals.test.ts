/**
 * What an import refuses, and what it then leaves: a file with a gap, a broken line or an
 * invalid event is refused naming the line, before anything is written; a database holding
 * other events is appended to only when asked, and that too can be run again. And an export
 * stopped midway continues where it stopped.
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEvent } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { factum, runFactumProcess } from './factum.ts';

let server: TestServer;
let dir: string;
let url: string;
let lines: string[];
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  server = await startTestServer();
  url = server.server.url;
  dir = await mkdtemp(join(tmpdir(), 'factum-refusals-'));
  await server.client.post('/databases', { name: 'source' });
  for (let t = 0; t < 10; t++) {
    await server.client.post('/databases/source/events', { events: Array.from({ length: 3 }, (_, i) => cloudEvent({ id: `e-${t}-${i}`, subject: `s-${t}`, data: { t, i } })) });
  }
  await factum('export', '--url', url, '-d', 'source', '-o', file('source.ndjson'), '--no-components', '-q');
  lines = (await readFile(file('source.ndjson'), 'utf8')).trimEnd().split('\n');
});
afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const write = (name: string, content: string[]) => writeFile(file(name), `${content.join('\n')}\n`);
const importFile = (name: string, database: string, ...more: string[]) => factum('import', '--url', url, '-d', database, '-i', file(name), '--no-components', '-q', ...more);
const head = async (database: string) => {
  const reply = await server.client.get(`/databases/${database}`);
  return reply.status === 404 ? undefined : (reply.body.latest_revision as number);
};

describe('a broken file', () => {
  it('is refused naming the line of a gap, and nothing is written', async () => {
    await write('gap.ndjson', [...lines.slice(0, 20), ...lines.slice(21)]);
    await expect(importFile('gap.ndjson', 'gap')).rejects.toThrow('line 21 has revision 22, after revision 20 on line 20: revision 21 is missing');
    expect(await head('gap')).toBeUndefined();
  });

  it('is refused naming a line that is not JSON, one that is not a valid event, and one cut short', async () => {
    await write('broken.ndjson', [...lines.slice(0, 25), '{"specversion":"1.0",', ...lines.slice(26)]);
    await expect(importFile('broken.ndjson', 'broken')).rejects.toThrow(/^line 26 is not valid JSON/);
    await write('invalid.ndjson', [...lines.slice(0, 4), lines[4]!.replace('"specversion":"1.0"', '"specversion":"0.3"'), ...lines.slice(5)]);
    await expect(importFile('invalid.ndjson', 'broken')).rejects.toThrow('line 5: specversion must be "1.0"');
    await writeFile(file('cut.ndjson'), `${lines.join('\n')}\n`);
    await truncate(file('cut.ndjson'), (await readFile(file('cut.ndjson'))).length - 10);
    await expect(importFile('cut.ndjson', 'broken')).rejects.toThrow(/^line 30 is cut short .*factum export --output FILE --resume/);
    expect(await head('broken')).toBeUndefined();
  });

  it('from a pipe, is imported up to the last whole request before the broken line, and refused there', async () => {
    const result = await runFactumProcess(['import', '--url', url, '-d', 'piped', '--batch-size', '3', '-q'], { stdin: `${[...lines.slice(0, 20), ...lines.slice(21)].join('\n')}\n` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('factum: line 21 has revision 22');
    // Requests end between transactions (three events each here): none is cut in two.
    expect(await head('piped')).toBe(18);
  });
});

describe('a database that holds other events', () => {
  it('is not appended to unless asked; with --append the events follow its own, renumbered, recorded times kept; and again changes nothing', async () => {
    await server.client.post('/databases', { name: 'busy' });
    await server.client.post('/databases/busy/events', { events: [cloudEvent({ id: 'own-1' }), cloudEvent({ id: 'own-2' })] });
    await expect(importFile('source.ndjson', 'busy')).rejects.toThrow('"busy" already holds 2 events, and not this file\'s');
    expect(await head('busy')).toBe(2);

    await importFile('source.ndjson', 'busy', '--append');
    const stored = (await server.client.get('/databases/busy/events?after=2&limit=100')).body.events as Array<Record<string, unknown>>;
    expect(stored.map((e) => e.revision)).toEqual(Array.from({ length: 30 }, (_, i) => i + 3));
    expect(stored.map(({ revision: _r, ...rest }) => rest)).toEqual(lines.map((l) => JSON.parse(l)).map(({ revision: _r, ...rest }) => rest));

    await importFile('source.ndjson', 'busy', '--append');
    expect(await head('busy')).toBe(32);
    await expect(importFile('source.ndjson', 'busy')).rejects.toThrow('an earlier import appended this file there; run again with --append');
  });

  it('holding a different event where the file has one stops a restore, with nothing more written', async () => {
    await write('first-half.ndjson', lines.slice(0, 15));
    await importFile('first-half.ndjson', 'diverged');
    await write('diverged.ndjson', [...lines.slice(0, 9), lines[9]!.replace('"data":{', '"data":{"changed":true,'), ...lines.slice(10)]);
    await expect(importFile('diverged.ndjson', 'diverged')).rejects.toThrow('line 10: "diverged" holds a different event at revision 10');
    expect(await head('diverged')).toBe(15);
  });
});

describe('an export stopped midway', () => {
  it('continues with --resume after its last whole line', async () => {
    const partial = file('partial.ndjson');
    await writeFile(partial, `${lines.slice(0, 12).join('\n')}\n${lines[12]!.slice(0, 20)}`);
    await factum('export', '--url', url, '-d', 'source', '-o', partial, '--resume', '--no-components', '-q');
    expect(await readFile(partial, 'utf8')).toBe(await readFile(file('source.ndjson'), 'utf8'));
  });

  it('can be continued after a revision with --after', async () => {
    await factum('export', '--url', url, '-d', 'source', '--after', '27', '-o', file('tail.ndjson'), '--no-components', '-q');
    expect((await readFile(file('tail.ndjson'), 'utf8')).trimEnd().split('\n')).toEqual(lines.slice(27));
  });
});
