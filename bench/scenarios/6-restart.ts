/**
 * 6. Restart of a server holding a large database against one holding a tenth of it: time from
 *    spawn to listening, and memory once started. Events stay on disk, so what memory grows by
 *    with each event is its index: the difference in memory in use (after a full garbage
 *    collection) over the difference in events. Restarts follow a clean stop, so they load the
 *    index snapshot; one more start without the snapshot shows a full rebuild from the log.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DATABASE, inTurn, median, progress, type BenchContext, type Dataset } from '../lib/context.ts';
import { request } from '../lib/load.ts';
import { residentBytes, startFactum } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

/** Memory is read this long after listening, once start-up work has settled. */
const SETTLE_MS = 1000;
const MiB = 1024 * 1024;

interface Start {
  ms: number;
  /** Resident set size. */
  rss: number;
  /** JS heap and memory outside it (typed arrays, buffers) in use after a full collection. */
  inUse: number;
  events: number;
}

async function startOnce(dataset: Dataset): Promise<Start> {
  const server = await startFactum(dataset.dataDir);
  try {
    await sleep(SETTLE_MS);
    const events = (JSON.parse((await request(`${server.url}/databases/${DATABASE}`)).text) as { event_count: number }).event_count;
    const rss = await residentBytes(server.pid);
    const memory = await server.memory();
    return { ms: server.startMs, rss, inUse: memory.heapUsed + memory.external, events };
  } finally {
    await server.stop();
  }
}

export async function restart(ctx: BenchContext): Promise<Row[]> {
  const { largeEvents, smallEvents, rounds } = ctx.options;
  const small = await ctx.datasets.get(smallEvents);
  const large = await ctx.datasets.get(largeEvents);
  // The first start after a change to the sources also compiles them; keep that out of the figures.
  await startOnce(small);
  let round = 0;
  const results = await inTurn(rounds, {
    small: () => {
      progress(`6: round ${++round}/${rounds}: restarts with ${smallEvents.toLocaleString('en-US')} and ${largeEvents.toLocaleString('en-US')} events`);
      return startOnce(small);
    },
    large: () => startOnce(large),
  });
  // Start time: the best run (noise only adds to it); memory: the median (noise barely moves it).
  const summary = (all: Start[]): Start => ({
    ms: Math.min(...all.map((s) => s.ms)),
    rss: median(all.map((s) => s.rss)),
    inUse: median(all.map((s) => s.inUse)),
    events: all.at(-1)!.events,
  });
  const smallStart = summary(results.small);
  const largeStart = summary(results.large);
  progress(`6: a start with ${largeEvents.toLocaleString('en-US')} events and no index snapshot (rebuild from the log)`);
  await rm(join(large.dataDir, 'databases', DATABASE, 'index.snapshot'));
  const rebuild = await startOnce(large);

  const events = largeStart.events - smallStart.events;
  const perEvent = (largeStart.inUse - smallStart.inUse) / events;
  const rssPerEvent = (largeStart.rss - smallStart.rss) / events;
  const count = (n: number) => n.toLocaleString('en-US');
  return [
    {
      id: '6a',
      what: `restart (spawn to listening), ${count(largeStart.events)} events`,
      result: { value: largeStart.ms, unit: 'ms' },
      baseline: { what: `${count(smallStart.events)} events`, value: smallStart.ms, unit: 'ms' },
      ratio: ratio(largeStart.ms, smallStart.ms),
      target: '< 2 000 ms',
      met: largeStart.ms < 2000,
      notes: `after a clean stop (index snapshot loaded); best of ${rounds} starts each, taken in turn; includes starting Node and loading the TypeScript sources`,
    },
    {
      id: '6b',
      what: '  resident memory (RSS) after start',
      result: { value: largeStart.rss / MiB, unit: 'MiB' },
      baseline: { what: `${count(smallStart.events)} events`, value: smallStart.rss / MiB, unit: 'MiB' },
      ratio: ratio(largeStart.rss, smallStart.rss),
      notes: `${SETTLE_MS} ms after listening, median of ${rounds} starts each; ${rssPerEvent.toFixed(0)} B/event by difference, garbage of the start not yet collected included`,
    },
    {
      id: '6c',
      what: '  memory in use after start (heap + external, after GC)',
      result: { value: largeStart.inUse / MiB, unit: 'MiB' },
      baseline: { what: `${count(smallStart.events)} events`, value: smallStart.inUse / MiB, unit: 'MiB' },
      ratio: ratio(largeStart.inUse, smallStart.inUse),
      notes: `after a full garbage collection, ${SETTLE_MS} ms after listening; median of ${rounds} starts each`,
    },
    {
      id: '6d',
      what: '  index memory per event (difference in use / difference in events)',
      result: { value: perEvent, unit: 'B/event' },
      target: '≤ 100 B/event',
      met: perEvent <= 100,
      notes: 'includes what each new distinct value costs (its string, its dictionary entry, its posting list): the datasets have 50,000 customer subjects and one more per order, so small databases get a new subject with most events',
    },
    {
      id: '6e',
      what: `start without index snapshot (rebuild), ${count(rebuild.events)} events`,
      result: { value: rebuild.ms, unit: 'ms' },
      baseline: { what: 'restart from snapshot', value: largeStart.ms, unit: 'ms' },
      ratio: ratio(rebuild.ms, largeStart.ms),
      notes: `one start; memory in use after a rebuild: ${(rebuild.inUse / MiB).toFixed(0)} MiB`,
    },
  ];
}
