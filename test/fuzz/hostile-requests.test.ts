/**
 * The fuzz suite: seeded, bounded streams of hostile requests against a real server, over every
 * operation of openapi.yaml (path parameters valid, absent and hostile; bodies of every kind
 * broken every way), every console route (pages and forms), and HTTP itself (request lines,
 * headers, framing). After each request: an answer came (no reset, no silence), it was not a
 * 5xx, an error was in its surface's shape, and a refused request left the database `fz` (with a
 * state view, a state change and events) as it was.
 *
 * FUZZ_SEED=<n> replays a run (the seed is printed on failure); FUZZ_SCALE=<k> sends k times as
 * many requests.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { BUILD_TIMEOUT_MS } from '../wasm/components.ts';
import { answerProblems, databaseState } from './invariants.ts';
import { FUZZ_MAX_BODY_BYTES } from './payloads.ts';
import { describeOutcome, sendRaw } from './raw-http.ts';
import { consoleRequest, labelled, operationRequest, protocolRequest, type FuzzRequest } from './requests.ts';
import { apiOperations, consoleRoutes } from './routes.ts';
import { loadSeedComponents, seedShop } from './seed.ts';
import { FUZZ_DB } from './values.ts';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS = { operation: 60 * SCALE, consoleRoute: 30 * SCALE, protocol: 300 * SCALE };
const TEST_TIMEOUT_MS = 120_000 * SCALE;
/** Broken framing can promise bytes that never come; after this long without an answer, the client says it is done. */
const HALF_CLOSE_AFTER_MS = 300;

let ts: TestServer;
let port: number;
/** The fuzzed database as the last request left it. */
let state: string;
let sent = 0;
const started = Date.now();

beforeAll(async () => {
  const components = await loadSeedComponents();
  ts = await startTestServer({ storage: 'file', maxBodyBytes: String(FUZZ_MAX_BODY_BYTES), componentTimeoutMs: '5000' });
  port = Number(new URL(ts.server.url).port);
  await seedShop(ts.client, FUZZ_DB, components);
  state = await databaseState(ts.server.ctx, FUZZ_DB);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  console.log(`fuzz: ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED}`);
  await ts?.stop();
});

/** Sends one request and checks what came back, and what it left behind. */
async function check(fuzz: FuzzRequest): Promise<void> {
  sent += 1;
  const outcome = await sendRaw(port, fuzz.request, { halfCloseAfterMs: fuzz.surface === 'protocol' ? HALF_CLOSE_AFTER_MS : undefined });
  const problems = answerProblems(fuzz, outcome);
  const after = await databaseState(ts.server.ctx, FUZZ_DB);
  const accepted = outcome.kind === 'reply' && outcome.reply.status < 400;
  if (!accepted && after !== state) problems.push(`refused, yet ${FUZZ_DB} changed:\n  before ${state}\n  after  ${after}`);
  state = after;
  if (problems.length > 0) throw new Error(`${fuzz.label}\n  → ${describeOutcome(outcome)}\n  ${problems.join('\n  ')}`);
}

/** Runs `runs` requests of `arb`; a failure says what was sent and got, and the seed that replays it. */
async function fuzz(arb: fc.Arbitrary<FuzzRequest>, runs: number): Promise<void> {
  // No shrinking: each request changes the server, and the first failure says enough.
  const details = await fc.check(fc.asyncProperty(labelled(arb), check), { seed: SEED, numRuns: runs, endOnFailure: true });
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`fuzz failure after ${details.numRuns} requests; replay with FUZZ_SEED=${SEED} npx vitest run test/fuzz\n${cause}`);
}

describe(`hostile requests (seed ${SEED})`, () => {
  describe('every operation of openapi.yaml', () => {
    for (const op of apiOperations()) {
      it(`${op.method} ${op.template} (${op.operationId})`, () => fuzz(operationRequest(op), RUNS.operation), TEST_TIMEOUT_MS);
    }
  });

  describe('every console route', () => {
    // The routes are read from the app itself; any context does for that.
    for (const route of consoleRoutes({} as never)) {
      it(`${route.method} ${route.path}`, () => fuzz(consoleRequest(route), RUNS.consoleRoute), TEST_TIMEOUT_MS);
    }
  });

  describe('HTTP below the API', () => {
    it('request lines, headers and framing', () => fuzz(protocolRequest, RUNS.protocol), TEST_TIMEOUT_MS);
  });
});
