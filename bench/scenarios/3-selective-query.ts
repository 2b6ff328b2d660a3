/**
 * 3. A selective query (one subject, one type) in a large database against the same query in a
 *    database a tenth of its size. Both hold the same number of matches (PROBE_MATCHES), so the
 *    time ratio says whether a query's cost follows its matches (≈ 1×) or the database (≈ 10×).
 *    The same again with an extension attribute in place of the subject (3x).
 */
import { best, DATABASE, inTurn, progress, type BenchContext } from '../lib/context.ts';
import { PROBE_MATCHES, PROBE_SUBJECT, PROBE_TENANT, PROBE_TYPE } from '../lib/events.ts';
import { postJson, runLoad, type LoadResult } from '../lib/load.ts';
import { startFactum, type ServerProcess } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

/** One connection: the figure is the time of one query, not how queries share two cores. */
const CONNECTIONS = 1;
const SUBJECT_QUERY = JSON.stringify({ selectors: [{ subject: PROBE_SUBJECT, event_type: PROBE_TYPE }], limit: 1000 });
const EXTENSION_QUERY = JSON.stringify({ selectors: [{ extensions: { tenant: PROBE_TENANT }, event_type: PROBE_TYPE }], limit: 1000 });
const PATH = `/databases/${DATABASE}/query`;

async function checkedQuery(server: ServerProcess, query: string): Promise<void> {
  const answer = JSON.parse((await postJson(`${server.url}${PATH}`, query)).text) as { events: unknown[]; has_more: boolean };
  if (answer.events.length !== PROBE_MATCHES || answer.has_more) {
    throw new Error(`the query matched ${answer.events.length} events, expected ${PROBE_MATCHES}`);
  }
}

function queryLoad(server: ServerProcess, duration: number, query: string): Promise<LoadResult> {
  return runLoad({ url: server.url, connections: CONNECTIONS, duration, requests: [{ method: 'POST', path: PATH, headers: { 'content-type': 'application/json' }, body: query }] });
}

export async function selectiveQuery(ctx: BenchContext): Promise<Row[]> {
  return [
    ...(await measure(ctx, { id: '3', label: 'selective query', query: SUBJECT_QUERY, selects: `subject + type (the subject has ${2 * PROBE_MATCHES} events, the type ~30 % of all)` })),
    ...(await measure(ctx, { id: '3x', label: 'selective query on an extension', query: EXTENSION_QUERY, selects: `extension tenant + type (the tenant has ${2 * PROBE_MATCHES} events, every event has a tenant of ~5 000)` })),
  ];
}

interface Probe {
  id: string;
  label: string;
  query: string;
  selects: string;
}

async function measure(ctx: BenchContext, probe: Probe): Promise<Row[]> {
  const { id, label, query, selects } = probe;
  const { durationS, warmupS, rounds, largeEvents, smallEvents } = ctx.options;
  const small = await ctx.datasets.get(smallEvents);
  const large = await ctx.datasets.get(largeEvents);
  const smallServer = await startFactum(small.dataDir);
  const largeServer = await startFactum(large.dataDir);
  try {
    await checkedQuery(smallServer, query);
    await checkedQuery(largeServer, query);
    if (warmupS > 0) {
      await queryLoad(smallServer, warmupS, query);
      await queryLoad(largeServer, warmupS, query);
    }
    let round = 0;
    const results = await inTurn(rounds, {
      small: () => {
        progress(`${id}: round ${++round}/${rounds}: query in ${smallEvents.toLocaleString('en-US')} events (${durationS} s)`);
        return queryLoad(smallServer, durationS, query);
      },
      large: () => {
        progress(`${id}: round ${round}/${rounds}: query in ${largeEvents.toLocaleString('en-US')} events (${durationS} s)`);
        return queryLoad(largeServer, durationS, query);
      },
    });
    // autocannon's latency histogram counts whole milliseconds; with one connection the time per
    // query follows exactly from the rate.
    const msPerQuery = (load: LoadResult) => (1000 * CONNECTIONS) / load.requestsPerSecond;
    const largeMs = msPerQuery(best(results.large, (r) => r.requestsPerSecond));
    const smallMs = msPerQuery(best(results.small, (r) => r.requestsPerSecond));
    const r = ratio(largeMs, smallMs);
    return [
      {
        id,
        what: `${label}, ${PROBE_MATCHES} matches in ${largeEvents.toLocaleString('en-US')} events`,
        result: { value: largeMs, unit: 'ms' },
        baseline: { what: `same in ${smallEvents.toLocaleString('en-US')} events`, value: smallMs, unit: 'ms' },
        ratio: r,
        target: `${largeEvents / smallEvents}× database ⇒ < 1.5×`,
        met: r < 1.5,
        notes: `${selects}, limit 1000; time per query over HTTP with 1 connection; best of ${rounds} rounds each. The large database loaded at ${Math.round(large.loadRate).toLocaleString('en-US')} events/s (HTTP, 1000 per request)`,
      },
    ];
  } finally {
    await smallServer.stop();
    await largeServer.stop();
  }
}
