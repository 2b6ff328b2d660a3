/**
 * The README's "Keys, step by step", run against a server started as it says (with its admin
 * key), each curl compared with the answer the README shows after it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { compareAnswer, parseAnswer, parseCurl, shellBlocks, toFetch, walkthroughSteps } from './support/readme.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ADMIN_KEY = /FACTUM_ADMIN_KEY=(\S+) npm start/.exec(README)?.[1];
const steps = walkthroughSteps(shellBlocks(README, ['Keys, step by step']));

describe('README: keys, step by step', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ storage: 'file' }, { FACTUM_ADMIN_KEY: ADMIN_KEY! });
  });
  afterAll(() => ts?.stop());

  it('says how the server is started, and has commands to run', () => {
    expect(ADMIN_KEY).toMatch(/^factum_/);
    expect(steps.filter((s) => s.words[0] === 'curl').length).toBeGreaterThan(3);
  });

  for (const step of steps) {
    it(`line ${step.line}: ${step.words.slice(0, 4).join(' ')}`, async () => {
      expect(step.words[0], `README line ${step.line}`).toBe('curl');
      const { url, init } = toFetch(parseCurl(step.words.slice(1)), { readmeOrigin: 'http://127.0.0.1:8080', baseUrl: ts.server.url, cwd: process.cwd(), resolvePath: (p) => p });
      const res = await fetch(url, init);
      const response = { status: res.status, headers: res.headers, text: await res.text() };
      const problems = compareAnswer(parseAnswer(step.answer!), response);
      expect(problems, `README line ${step.line} shows "${step.answer}", the server answered ${response.status} ${response.text.slice(0, 600)}`).toEqual([]);
    });
  }
});
