/**
 * 8. Subscriptions.
 *    a/b. Delivery latency: 100 live NDJSON subscribers while single-event appends arrive at a
 *         steady rate; for every event and subscriber, the time from sending the append to the
 *         subscriber receiving the event, next to the time the writer waited for its own
 *         acknowledgement (the same appends). The difference is what delivery adds to a commit.
 *    c.   Catch-up throughput: one subscriber reading the large database from the beginning to
 *         `caught_up`, against reading the same events through /query pages of 10 000 on one
 *         connection: what streaming costs (or saves) over paging.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { best, DATABASE, inTurn, median, progress, type BenchContext } from '../lib/context.ts';
import { appendEventJson, batchBody } from '../lib/events.ts';
import { postJson, request } from '../lib/load.ts';
import { startFactum, type ServerProcess } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

const SUBSCRIBERS = 100;
const APPENDS_PER_SECOND = 100;
const QUERY_PAGE = 10_000;

/**
 * Reads a response line by line (a body without line breaks is one line), handing each line to
 * `onLine` until it returns true or the body ends. node:http and plain string scanning: the
 * bench client shares the machine with the server, so it must cost as little as it can.
 */
function readLines(url: string, body: string | undefined, onLine: (line: string) => boolean | void): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopped = false;
    const req = httpRequest(url, { method: body === undefined ? 'GET' : 'POST', headers: body === undefined ? { accept: 'application/x-ndjson' } : { accept: 'application/json', 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
      res.setEncoding('utf8');
      let rest = '';
      res.on('data', (chunk: string) => {
        if (stopped) return;
        // Only the new text can hold a line break: a long line is not scanned again and again.
        let newline = chunk.indexOf('\n');
        newline = newline < 0 ? -1 : rest.length + newline;
        rest += chunk;
        let start = 0;
        for (; newline >= 0; newline = rest.indexOf('\n', start)) {
          const line = rest.slice(start, newline);
          start = newline + 1;
          if (onLine(line)) {
            stopped = true;
            req.destroy();
            return resolve();
          }
        }
        rest = rest.slice(start);
      });
      res.on('end', () => {
        if (!stopped && rest !== '') onLine(rest);
        resolve();
      });
    });
    req.on('error', (error) => (stopped ? resolve() : reject(error)));
    req.end(body);
  });
}

const EVENT_PREFIX = '{"type":"event","revision":';
const revisionOf = (line: string) => (line.startsWith(EVENT_PREFIX) ? Number(line.slice(EVENT_PREFIX.length, line.indexOf(',', EVENT_PREFIX.length))) : undefined);

interface LatencyRun {
  /** Append sent → event received, per event and subscriber. */
  delivery: number[];
  /** Append sent → acknowledged, per append. */
  ack: number[];
  /** Event received − append acknowledged, per event and subscriber (negative: before the writer heard). */
  afterAck: number[];
}

async function deliveryLatency(server: ServerProcess, tag: string, seconds: number): Promise<LatencyRun> {
  const sentAt = new Map<number, { sent: number; ack: number }>();
  const received: Array<Array<[number, number]>> = [];
  const streams = Array.from({ length: SUBSCRIBERS }, (_, i) => {
    received[i] = [];
    let ready: () => void;
    const caughtUp = new Promise<void>((resolve) => (ready = resolve));
    const stopped = { now: false };
    const done = readLines(`${server.url}/databases/${DATABASE}/subscriptions?after=latest`, undefined, (line) => {
      const revision = revisionOf(line);
      if (revision !== undefined) received[i]!.push([revision, performance.now()]);
      else if (line.includes('"caught_up"')) ready();
      return stopped.now;
    });
    return { caughtUp, done, stopped };
  });
  await Promise.all(streams.map((s) => s.caughtUp));

  // A steady rate, not back to back: each append is sent on its tick whether or not the one before was answered.
  const ack: number[] = [];
  const writes: Array<Promise<void>> = [];
  const interval = 1000 / APPENDS_PER_SECOND;
  const started = performance.now();
  for (let n = 0; performance.now() - started < seconds * 1000; n++) {
    const due = started + n * interval;
    if (due > performance.now()) await sleep(due - performance.now());
    const sent = performance.now();
    writes.push(
      postJson(`${server.url}/databases/${DATABASE}/events`, batchBody([appendEventJson(tag, n)])).then(({ text }) => {
        const acked = performance.now();
        sentAt.set((JSON.parse(text) as { revision: number }).revision, { sent, ack: acked });
        ack.push(acked - sent);
      }),
    );
  }
  await Promise.all(writes);
  const last = Math.max(...sentAt.keys());
  const deadline = performance.now() + 10_000;
  while (received.some((r) => (r.at(-1)?.[0] ?? 0) < last) && performance.now() < deadline) await sleep(20);
  for (const s of streams) s.stopped.now = true;
  // A line after the stop flag ends each reader; the heartbeat at the latest brings one.
  await postJson(`${server.url}/databases/${DATABASE}/events`, batchBody([appendEventJson(`${tag}-end`, 0)]));
  await Promise.all(streams.map((s) => s.done));

  const delivery: number[] = [];
  const afterAck: number[] = [];
  for (const perSubscriber of received) {
    for (const [revision, at] of perSubscriber) {
      const times = sentAt.get(revision);
      if (!times) continue;
      delivery.push(at - times.sent);
      afterAck.push(at - times.ack);
    }
  }
  const expected = sentAt.size * SUBSCRIBERS;
  if (delivery.length !== expected) throw new Error(`subscribers received ${delivery.length} of ${expected} events`);
  return { delivery, ack, afterAck };
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/** Events per second one subscriber reads from the beginning to `caught_up`. */
async function catchUp(server: ServerProcess, size: number): Promise<number> {
  const started = performance.now();
  let events = 0;
  await readLines(`${server.url}/databases/${DATABASE}/subscriptions`, undefined, (line) => {
    if (line.startsWith(EVENT_PREFIX)) events++;
    return line.startsWith('{"type":"caught_up"');
  });
  if (events !== size) throw new Error(`the subscriber caught up after ${events} events, expected ${size}`);
  return size / ((performance.now() - started) / 1000);
}

/** Events per second read through /query pages, cursor after cursor, read by the same client. */
async function pagedQuery(server: ServerProcess, size: number): Promise<number> {
  const started = performance.now();
  let events = 0;
  let cursor: string | null = null;
  do {
    const body = JSON.stringify(cursor ? { limit: QUERY_PAGE, cursor } : { limit: QUERY_PAGE });
    let text = '';
    await readLines(`${server.url}/databases/${DATABASE}/query`, body, (line) => void (text = line));
    // Counted and continued the way the subscriber's lines are: by scanning, not parsing the events.
    for (let at = text.indexOf('{"specversion"'); at >= 0; at = text.indexOf('{"specversion"', at + 1)) events++;
    const tail = JSON.parse(`{${text.slice(text.lastIndexOf('"has_more"'))}`) as { next_cursor: string | null };
    cursor = tail.next_cursor;
  } while (cursor);
  if (events !== size) throw new Error(`the pages held ${events} events, expected ${size}`);
  return size / ((performance.now() - started) / 1000);
}

export async function subscriptions(ctx: BenchContext): Promise<Row[]> {
  const { durationS, rounds, largeEvents } = ctx.options;
  const dir = await mkdtemp(join(ctx.workDir, 'subscriptions-'));
  const live = await startFactum(dir);
  const runs: LatencyRun[] = [];
  try {
    await postJson(`${live.url}/databases`, JSON.stringify({ name: DATABASE }));
    await deliveryLatency(live, 'warm', 1);
    for (let round = 1; round <= rounds; round++) {
      progress(`8: round ${round}/${rounds}: ${SUBSCRIBERS} live subscribers, ${APPENDS_PER_SECOND} appends/s (${durationS} s)`);
      runs.push(await deliveryLatency(live, `r${round}`, durationS));
    }
  } finally {
    await live.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const latency = best(runs, (r) => -percentile(r.delivery, 50));

  const large = await ctx.datasets.get(largeEvents);
  const reader = await startFactum(large.dataDir);
  let round = 0;
  let results: Record<'stream' | 'pages', number[]>;
  // What the database holds now: other scenarios append to the shared datasets.
  let size = largeEvents;
  try {
    size = (JSON.parse((await request(`${reader.url}/databases/${DATABASE}`)).text) as { event_count: number }).event_count;
    results = await inTurn(rounds, {
      stream: () => {
        progress(`8: round ${++round}/${rounds}: one subscriber catching up on ${size.toLocaleString('en-US')} events, and the same by /query pages`);
        return catchUp(reader, size);
      },
      pages: () => pagedQuery(reader, size),
    });
  } finally {
    await reader.stop();
  }
  const stream = Math.max(...results.stream);
  const pages = Math.max(...results.pages);
  const afterAck = `received − acknowledged: p50 ${percentile(latency.afterAck, 50).toFixed(1)} ms, p99 ${percentile(latency.afterAck, 99).toFixed(1)} ms`;
  return [
    {
      id: '8a',
      what: `delivery latency p50, ${SUBSCRIBERS} live subscribers, ${APPENDS_PER_SECOND} appends/s (append sent → received)`,
      result: { value: percentile(latency.delivery, 50), unit: 'ms' },
      baseline: { what: 'the same appends, sent → acknowledged', value: percentile(latency.ack, 50), unit: 'ms' },
      ratio: ratio(percentile(latency.delivery, 50), percentile(latency.ack, 50)),
      notes: `${afterAck}; ${latency.delivery.length.toLocaleString('en-US')} deliveries in the best of ${rounds} rounds (by p50); file store, fdatasync; NDJSON over HTTP/1.1; median ack ${median(latency.ack).toFixed(1)} ms`,
    },
    {
      id: '8b',
      what: '  delivery latency p99',
      result: { value: percentile(latency.delivery, 99), unit: 'ms' },
      baseline: { what: 'the same appends, sent → acknowledged', value: percentile(latency.ack, 99), unit: 'ms' },
      ratio: ratio(percentile(latency.delivery, 99), percentile(latency.ack, 99)),
    },
    {
      id: '8c',
      what: `catch-up of one subscriber, ${size.toLocaleString('en-US')} events from the beginning`,
      result: { value: stream, unit: 'events/s' },
      baseline: { what: `the same events by /query pages of ${QUERY_PAGE.toLocaleString('en-US')}`, value: pages, unit: 'events/s' },
      ratio: ratio(stream, pages),
      notes: `best of ${rounds} rounds each; both read by the same node:http client and counted by scanning the text`,
    },
  ];
}
