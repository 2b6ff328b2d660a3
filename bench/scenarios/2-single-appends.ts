/**
 * 2. Durable single-event appends from 64 concurrent connections, against a bare node:http
 *    server answering requests of the same size: what HTTP alone costs on this machine. An
 *    Express app that only parses the body is measured too, to tell the framework's share of
 *    the gap from Factum's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { best, DATABASE, inTurn, progress, type BenchContext } from '../lib/context.ts';
import { appendEventJson, batchBody } from '../lib/events.ts';
import { postJson, request, runLoad, type LoadResult } from '../lib/load.ts';
import { startBareServer, startExpressServer, startFactum, type ServerProcess } from '../lib/processes.ts';
import { ratio, type Row } from '../lib/report.ts';

const CONNECTIONS = 64;

function appendLoad(server: ServerProcess, tag: string): (durationS: number) => Promise<LoadResult> {
  let n = 0;
  return (duration) =>
    runLoad({
      url: server.url,
      connections: CONNECTIONS,
      duration,
      requests: [
        {
          method: 'POST',
          path: `/databases/${DATABASE}/events`,
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: batchBody([appendEventJson(tag, n++)]) }),
        },
      ],
    });
}

export async function singleAppends(ctx: BenchContext): Promise<Row[]> {
  const { durationS, warmupS, rounds } = ctx.options;
  const dir = await mkdtemp(join(ctx.workDir, 'single-'));
  const bareServer = await startBareServer();
  const expressServer = await startExpressServer();
  const server = await startFactum(dir);
  try {
    await postJson(`${server.url}/databases`, JSON.stringify({ name: DATABASE }));
    const bareLoad = appendLoad(bareServer, 'bare');
    const expressLoad = appendLoad(expressServer, 'express');
    const factumLoad = appendLoad(server, `s${Date.now().toString(36)}`);
    if (warmupS > 0) {
      await bareLoad(warmupS);
      await expressLoad(warmupS);
      await factumLoad(warmupS);
    }
    let round = 0;
    const results = await inTurn(rounds, {
      bare: () => {
        progress(`2: round ${++round}/${rounds}: bare node:http server, ${CONNECTIONS} connections (${durationS} s)`);
        return bareLoad(durationS);
      },
      express: () => {
        progress(`2: round ${round}/${rounds}: bare Express app, ${CONNECTIONS} connections (${durationS} s)`);
        return expressLoad(durationS);
      },
      factum: () => {
        progress(`2: round ${round}/${rounds}: single-event appends to Factum, ${CONNECTIONS} connections (${durationS} s)`);
        return factumLoad(durationS);
      },
    });
    const stored = JSON.parse((await request(`${server.url}/databases/${DATABASE}`)).text) as { event_count: number };
    const acknowledged = results.factum.reduce((sum, r) => sum + r.requests, 0);
    if (stored.event_count < acknowledged) throw new Error(`the database holds ${stored.event_count} events after ${acknowledged} acknowledged appends`);

    const bare = best(results.bare, (r) => r.requestsPerSecond);
    const bareExpress = best(results.express, (r) => r.requestsPerSecond);
    const factum = best(results.factum, (r) => r.requestsPerSecond);
    const r = ratio(factum.requestsPerSecond, bare.requestsPerSecond);
    const againstExpress = ratio(factum.requestsPerSecond, bareExpress.requestsPerSecond);
    const p99Ratio = ratio(factum.latencyP99Ms, bare.latencyP99Ms);
    return [
      {
        id: '2a',
        what: `single-event appends, ${CONNECTIONS} connections, fdatasync`,
        result: { value: factum.requestsPerSecond, unit: 'req/s' },
        baseline: { what: 'bare node:http server', value: bare.requestsPerSecond, unit: 'req/s' },
        ratio: r,
        target: '≥ 0.35×',
        met: r >= 0.35,
        notes: `best of ${rounds} rounds each; latencies are those of the best round (autocannon counts whole milliseconds)`,
      },
      {
        id: '2b',
        what: '  latency p50',
        result: { value: factum.latencyP50Ms, unit: 'ms' },
        baseline: { what: 'bare node:http server', value: bare.latencyP50Ms, unit: 'ms' },
        ratio: ratio(factum.latencyP50Ms, bare.latencyP50Ms),
      },
      {
        id: '2c',
        what: '  latency p99',
        result: { value: factum.latencyP99Ms, unit: 'ms' },
        baseline: { what: 'bare node:http server', value: bare.latencyP99Ms, unit: 'ms' },
        ratio: p99Ratio,
        target: '≤ 3×',
        met: p99Ratio <= 3,
      },
      {
        id: '2d',
        what: '  for reference: Express app that only parses the body',
        result: { value: bareExpress.requestsPerSecond, unit: 'req/s' },
        baseline: { what: 'bare node:http server', value: bare.requestsPerSecond, unit: 'req/s' },
        ratio: ratio(bareExpress.requestsPerSecond, bare.requestsPerSecond),
        notes: `no storage, no validation, no logging: the framework's own share of the gap (p50 ${bareExpress.latencyP50Ms} ms, p99 ${bareExpress.latencyP99Ms} ms)`,
      },
      {
        id: '2e',
        what: '  single-event appends against that Express app',
        result: { value: factum.requestsPerSecond, unit: 'req/s' },
        baseline: { what: 'Express app that only parses the body', value: bareExpress.requestsPerSecond, unit: 'req/s' },
        ratio: againstExpress,
        target: '≥ 1×',
        met: againstExpress >= 1,
      },
    ];
  } finally {
    await server.stop();
    await expressServer.stop();
    await bareServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
