/**
 * 1. Durable appends of 1000 events per request, against what the disk allows: a loop that
 *    writes the same bytes Factum writes for each request (its log frame) and fdatasyncs.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { storedEventJson, type CloudEvent } from '../../src/core/events.ts';
import { encodeFrame } from '../../src/storage/file/log-format.ts';
import { best, DATABASE, inTurn, progress, type BenchContext } from '../lib/context.ts';
import { appendEventJson, batchBody } from '../lib/events.ts';
import { postJson, request, runLoad, type LoadResult } from '../lib/load.ts';
import { startFactum } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

const BATCH = 1000;
const CONNECTIONS = 4;
/** Upper bound on the raw loop's iterations, whatever the duration. */
const MAX_RAW_BATCHES = 100_000;

interface RawResult {
  eventsPerSecond: number;
  batchesPerSecond: number;
}

export async function batchedAppends(ctx: BenchContext): Promise<Row[]> {
  const { durationS, warmupS, rounds } = ctx.options;
  const dir = await mkdtemp(join(ctx.workDir, 'appends-'));
  const server = await startFactum(join(dir, 'factum'));
  try {
    await postJson(`${server.url}/databases`, JSON.stringify({ name: DATABASE }));
    let n = 0;
    const tag = `b${Date.now().toString(36)}`;
    const load = (duration: number) =>
      runLoad({
        url: server.url,
        connections: CONNECTIONS,
        duration,
        requests: [
          {
            method: 'POST',
            path: `/databases/${DATABASE}/events`,
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => {
              const events: string[] = new Array(BATCH);
              for (let i = 0; i < BATCH; i++) events[i] = appendEventJson(tag, n++);
              return { ...req, body: batchBody(events) };
            },
          },
        ],
      });
    const frame = rawFrame();
    if (warmupS > 0) await load(warmupS);
    let round = 0;
    const results = await inTurn<'raw' | 'factum', RawResult | LoadResult>(rounds, {
      raw: () => {
        progress(`1: round ${++round}/${rounds}: raw write + fdatasync of ${BATCH}-event frames (${durationS} s)`);
        return rawAppendLoop(join(dir, `raw-${round}.log`), frame, durationS);
      },
      factum: () => {
        progress(`1: round ${round}/${rounds}: batched appends to Factum, ${CONNECTIONS} connections (${durationS} s)`);
        return load(durationS);
      },
    });
    const stored = JSON.parse((await request(`${server.url}/databases/${DATABASE}`)).text) as { event_count: number };
    const acknowledged = (results.factum as LoadResult[]).reduce((sum, r) => sum + r.requests, 0) * BATCH;
    if (stored.event_count % BATCH !== 0 || stored.event_count < acknowledged) {
      throw new Error(`the database holds ${stored.event_count} events after ${acknowledged} acknowledged`);
    }
    const raw = best(results.raw as RawResult[], (r) => r.eventsPerSecond);
    const factum = best(results.factum as LoadResult[], (r) => r.requestsPerSecond);
    const eventsPerSecond = factum.requestsPerSecond * BATCH;
    const r = ratio(eventsPerSecond, raw.eventsPerSecond);
    return [
      {
        id: '1',
        what: `batched appends (${BATCH}/request, ~${Math.round(frame.length / BATCH)} B/event, fdatasync)`,
        result: { value: eventsPerSecond, unit: 'events/s' },
        baseline: { what: 'raw write+fdatasync loop', value: raw.eventsPerSecond, unit: 'events/s' },
        ratio: r,
        target: '≥ 100 000 events/s and ≥ 0.50×',
        met: eventsPerSecond >= 100_000 && r >= 0.5,
        notes: `${CONNECTIONS} connections, p50 ${factum.latencyP50Ms} ms per request; the raw loop did ${raw.batchesPerSecond.toFixed(0)} write+fdatasync/s of ${frame.length.toLocaleString('en-US')} bytes; best of ${rounds} rounds each`,
      },
    ];
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The log frame Factum writes for one request of the load. */
function rawFrame(): Buffer {
  const recordedtime = new Date().toISOString();
  const jsons: string[] = [];
  for (let i = 0; i < BATCH; i++) jsons.push(storedEventJson(JSON.parse(appendEventJson('raw', i)) as CloudEvent, 1_000_000 + i, recordedtime));
  return encodeFrame(jsons).frame;
}

/** Appends `frame` again and again, each write followed by fdatasync. */
async function rawAppendLoop(path: string, frame: Buffer, durationS: number): Promise<RawResult> {
  const log = await open(path, 'w');
  try {
    let position = 0;
    let batches = 0;
    const started = performance.now();
    const deadline = started + durationS * 1000;
    while (performance.now() < deadline && batches < MAX_RAW_BATCHES) {
      let written = 0;
      while (written < frame.length) written += (await log.write(frame, written, frame.length - written, position + written)).bytesWritten;
      await log.datasync();
      position += frame.length;
      batches++;
    }
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerSecond: (batches * BATCH) / seconds, batchesPerSecond: batches / seconds };
  } finally {
    await log.close();
    await rm(path, { force: true });
  }
}
