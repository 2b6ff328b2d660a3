/** Progress of export and import on stderr: a bar with a rate and an ETA on a terminal, plain lines elsewhere. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startProgress } from '../src/cli/progress.ts';

function fakeStderr(isTTY: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, text: () => text };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('progress', () => {
  it('draws a bar with events/s and an ETA on a terminal, and ends with the summary', async () => {
    const err = fakeStderr(true);
    const progress = startProgress('import shop', 1000, { stream: err.stream });
    for (let i = 0; i < 5; i++) {
      progress.advance(100);
      await sleep(120);
    }
    progress.finish('factum import into "shop": done');
    expect(err.text()).toMatch(/import shop \[[█░]+\] 50% \| 500\/1000 events \| [\d,]+ events\/s \| ETA \d+s/);
    expect(err.text()).toMatch(/factum import into "shop": done\n$/);
  });

  it('writes a plain line now and then when stderr is not a terminal', async () => {
    const err = fakeStderr(false);
    const progress = startProgress('export shop', 400, { stream: err.stream, intervalMs: 50 });
    progress.advance(100);
    await sleep(120);
    progress.finish('factum export of "shop": done');
    const lines = err.text().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^export shop: 100 of 400 events, 25%, [\d,]+ events\/s, ETA \d+ s$/);
    expect(lines.at(-1)).toBe('factum export of "shop": done');
  });

  it('counts without a total when the input is a pipe, and says nothing with --quiet', async () => {
    const err = fakeStderr(false);
    const progress = startProgress('import shop', undefined, { stream: err.stream, intervalMs: 30 });
    progress.advance(7);
    await sleep(80);
    progress.finish('done');
    expect(err.text()).toMatch(/^import shop: 7 events, [\d,]+ events\/s\n/);
    const quiet = fakeStderr(false);
    startProgress('import shop', 10, { stream: quiet.stream, quiet: true }).finish('done');
    expect(quiet.text()).toBe('');
  });
});
