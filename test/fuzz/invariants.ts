/**
 * What must hold for every answer to a hostile request: an answer (no reset, no silence), no
 * 5xx, errors in the shape of their surface (the API's JSON with a code of openapi.yaml's table,
 * the console's HTML), and the fuzzed database as it was whenever the request was refused.
 */
import type { FactumContext } from '../../src/usecases/context.ts';
import { describeDatabase } from '../../src/usecases/databases.ts';
import { listStateChanges } from '../../src/usecases/state-changes.ts';
import { listStateViews } from '../../src/usecases/state-views.ts';
import { describeOutcome, jsonOf, type RawOutcome, type RawReply } from './raw-http.ts';
import type { FuzzRequest } from './requests.ts';
import { errorTable } from './routes.ts';

const ERROR_CODES = errorTable();

/** Statuses only the HTTP parser's refusals answer with (openapi.yaml lists them). */
const PARSER_STATUSES = new Set([408, 417, 431]);

/**
 * A refusal of the HTTP parser, made before any route could be known: its status fits the
 * problem rather than the table, it is JSON on console paths too, and the process route's
 * `success` is not there. It names the parser's error in `details.reason`.
 */
const isParserRefusal = (status: number, details: Record<string, unknown>) =>
  PARSER_STATUSES.has(status) || (typeof details.reason === 'string' && /^(HPE_|ERR_HTTP_REQUEST_TIMEOUT$)/.test(details.reason));

/** What a refused request must not have changed. */
export async function databaseState(ctx: FactumContext, database: string): Promise<string> {
  const { latest_revision, event_count, state_views, state_changes } = await describeDatabase(ctx, database);
  const [views, changes] = await Promise.all([listStateViews(ctx, database), listStateChanges(ctx, database)]);
  return JSON.stringify({ latest_revision, event_count, state_views, state_changes, views, changes });
}

/** The problems with `outcome` as an answer to `fuzz`; none when it is fine. */
export function answerProblems(fuzz: FuzzRequest, outcome: RawOutcome): string[] {
  if (outcome.kind !== 'reply') return [`no answer: ${describeOutcome(outcome)}`];
  const problems: string[] = [];
  const { reply } = outcome;
  if (outcome.resetAfter) problems.push('the connection was reset after the answer');
  if (reply.status >= 500) problems.push(`a server error, ${reply.status}`);
  if (reply.status >= 400) problems.push(...errorShapeProblems(fuzz, reply));
  return problems;
}

function errorShapeProblems(fuzz: FuzzRequest, reply: RawReply): string[] {
  const type = reply.headers['content-type'] ?? '';
  if (fuzz.surface === 'console' && /^text\/html/.test(type)) return reply.text.trim() === '' ? ['an empty error page'] : [];
  if (!/^application\/json/.test(type)) return [`an error answer of type "${type}"${fuzz.surface === 'console' ? ' (a console route must answer HTML)' : ''}`];
  const body = jsonOf(reply);
  const error = body?.error;
  if (fuzz.surface === 'json-rpc' && body?.jsonrpc === '2.0') {
    return Number.isInteger(error?.code) && typeof error.message === 'string' ? [] : [`not a JSON-RPC error: ${reply.text.slice(0, 200)}`];
  }
  if (typeof error?.code !== 'string' || typeof error.message !== 'string' || error.details === null || typeof error.details !== 'object' || Array.isArray(error.details)) {
    return [`not the error shape: ${reply.text.slice(0, 200)}`];
  }
  const parserRefusal = isParserRefusal(reply.status, error.details);
  const problems: string[] = [];
  if (fuzz.processRoute && !parserRefusal && body.success !== false) problems.push('a process route error without success: false');
  const status = ERROR_CODES.get(error.code);
  // Business rejections of the process route carry the component's own code.
  const rejection = fuzz.processRoute && status === undefined;
  if (status === undefined && !rejection) problems.push(`error code ${error.code} is not in openapi.yaml's table`);
  if (status !== undefined && status !== reply.status && !parserRefusal) problems.push(`code ${error.code} is ${status} in the table, answered with ${reply.status}`);
  // A console route answers JSON only when the request never reached it.
  const unrouted = parserRefusal || (error.code === 'NOT_FOUND' && /^no route/.test(error.message));
  if (fuzz.surface === 'console' && !unrouted) problems.push('a console route answered JSON');
  return problems;
}
