/**
 * The MCP tools: each is a use case of src/usecases (the very ones the HTTP API calls), its
 * arguments described and checked by openapi.yaml's schemas (see schemas.ts), its answer the
 * API's answer.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { parseConstraints } from '../../core/constraints.ts';
import type { CloudEvent } from '../../core/events.ts';
import type { Principal } from '../../core/access.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { appendEvents } from '../../usecases/append-events.ts';
import { createDatabase, describeDatabase, listDatabases } from '../../usecases/databases.ts';
import type { QueryRequest } from '../../usecases/query-events.ts';
import { listStateChanges, processCommand, type ProcessRequest } from '../../usecases/state-changes.ts';
import { listStateViews, renderStateView } from '../../usecases/state-views.ts';
import { toRenderRequest, type RenderOptions } from '../render-query.ts';
import { ok, type ToolAnswer } from './answers.ts';
import { boundedQueryPage, MAX_PAGE_BYTES, MAX_PAGE_EVENTS, MAX_RENDER_BYTES, processedAnswer, renderedAnswer } from './bounded-answers.ts';
import { mapOf, named, toolArguments, type ReadArguments, type ToolArguments } from './schemas.ts';

export interface FactumTool {
  name: string;
  /** The API operation it stands for: whoever may call that may call this tool. */
  operation: string;
  title: string;
  description: string;
  arguments: ToolArguments;
  annotations: ToolAnnotations;
  /** The database the call is about, for the key's reach; undefined: none. */
  databaseOf?(args: ReadArguments): string | undefined;
  run(ctx: FactumContext, args: ReadArguments, caller: Principal | undefined): Promise<ToolAnswer>;
}

const database = named('DatabaseName', 'The database.');
const stateView = named('ComponentName', 'The state view.');
const stateChange = named('ComponentName', 'The state change.');
const viewParameters = mapOf(
  'ViewParameterName',
  'ViewParameterValue',
  'The view parameters, by name: those list_state_views gives for the view; they bind the {placeholders} of its event selector.',
);

const kib = (bytes: number) => `${bytes / 1024} KiB`;
const READS: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };
/** Writes that only add: nothing stored is changed or removed. */
const ADDS: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, openWorldHint: false };

const databaseOf = (args: ReadArguments) => args.named.database as string;

/** A tool that reads one database and takes nothing else. */
function databaseRead(name: string, operation: string, title: string, description: string, read: (ctx: FactumContext, database: string) => Promise<object>): FactumTool {
  return { name, operation, title, description, arguments: toolArguments({ required: { database } }), annotations: READS, databaseOf, run: async (ctx, args) => ok(await read(ctx, databaseOf(args))) };
}

export const TOOLS: readonly FactumTool[] = [
  {
    name: 'list_databases',
    operation: 'listDatabases',
    title: 'List databases',
    description: 'Lists every database with its latest revision and event count.',
    arguments: toolArguments({}),
    annotations: READS,
    run: async (ctx, _args, caller) => ok({ databases: await listDatabases(ctx, caller) }),
  },
  databaseRead(
    'describe_database',
    'getDatabase',
    'Describe a database',
    'Describes a database: its latest revision, event count, and the names of its state views and state changes.',
    describeDatabase,
  ),
  {
    name: 'create_database',
    operation: 'createDatabase',
    databaseOf: (args) => (args.body as { name?: string }).name,
    title: 'Create a database',
    description: 'Creates an empty database. A name that is taken fails with ALREADY_EXISTS.',
    arguments: toolArguments({ body: 'CreateDatabaseRequest' }),
    annotations: ADDS,
    run: async (ctx, args) => ok({ database: await createDatabase(ctx, args.body.name) }),
  },
  {
    name: 'query_events',
    operation: 'queryEvents',
    databaseOf,
    title: 'Query events',
    description:
      'Reads events by selectors (OR-ed; the fields stream, event_type and subject of one selector are AND-ed; or the tree form with ' +
      'type equals, starts_with, and, or), within a revision_range and an effective_time_range (both inclusive), forward or backward. ' +
      `A page holds at most ${MAX_PAGE_EVENTS} events and ${kib(MAX_PAGE_BYTES)} (a larger limit is lowered). When has_more is true, ` +
      'call again with the same arguments plus cursor set to next_cursor: every page reads at the revision of the first.',
    arguments: toolArguments({ required: { database }, body: 'QueryRequest' }),
    annotations: READS,
    run: async (ctx, args) => ok(await boundedQueryPage(ctx, databaseOf(args), args.body as QueryRequest)),
  },
  {
    name: 'append_events',
    operation: 'appendEvents',
    databaseOf,
    title: 'Append events',
    description:
      'Appends CloudEvents 1.0 as one atomic transaction; each gets the next revision. Constraints are checked atomically with the ' +
      'write against the latest revision, or with a selector the latest matching revision (0 if none): min_revision, max_revision ' +
      '(max 0 with a selector: nothing matching exists yet), revision_range. A constraint that fails writes nothing and answers ' +
      'FAILED_PRECONDITION with the first event that broke it. Sending the same events again (same source and id) is answered ' +
      'with the original revisions and replayed: true.',
    arguments: toolArguments({ required: { database }, body: 'AppendRequest' }),
    annotations: { ...ADDS, idempotentHint: true },
    run: async (ctx, args) => {
      const { events, constraints } = args.body as { events: CloudEvent[]; constraints?: unknown };
      return ok(await appendEvents(ctx, databaseOf(args), events, parseConstraints(constraints)));
    },
  },
  databaseRead(
    'list_state_views',
    'listStateViews',
    'List state views',
    'Lists the state views (projections) of a database: content type, whether they are read by revision or effective time, and the parameters each takes.',
    async (ctx, db) => ({ state_views: await listStateViews(ctx, db) }),
  ),
  {
    name: 'render_state_view',
    operation: 'renderStateView',
    databaseOf,
    title: 'Render a state view',
    description:
      'Renders a state view, by default its latest version at the latest revision: revision renders it as of an earlier revision, ' +
      'version an earlier version, effective_time (for views read by effective time) folds only events in effect then. JSON content ' +
      `is answered as the value, other text as a string, binary content in base64. At most ${kib(MAX_RENDER_BYTES)} of content.`,
    arguments: toolArguments({ required: { database, name: stateView }, optional: { parameters: viewParameters }, queryOf: 'renderStateView' }),
    annotations: READS,
    run: async (ctx, args) => {
      const { name, parameters } = args.named as { name: string; parameters?: Record<string, string> };
      const result = await renderStateView(ctx, databaseOf(args), name, toRenderRequest(args.query as RenderOptions, parameters ?? {}));
      return ok(renderedAnswer(databaseOf(args), result));
    },
  },
  databaseRead(
    'list_state_changes',
    'listStateChanges',
    'List state changes',
    'Lists the state changes (command handlers) of a database, with the state views each reads.',
    async (ctx, db) => ({ state_changes: await listStateChanges(ctx, db) }),
  ),
  {
    name: 'process_command',
    operation: 'processCommand',
    databaseOf,
    title: 'Process a command',
    description:
      'Sends a command (any JSON) to a state change: it reads its state views (parameters bound from parameters, else from the ' +
      "command's top-level fields), decides, and its events are appended atomically, only if nothing those views read changed " +
      'meanwhile. With dry_run true nothing is written: the answer lists the events that would be appended, with their revisions. ' +
      "A business rejection is an error answer {success: false, error: {code, message, details}} with the component's own code.",
    arguments: toolArguments({ required: { database, name: stateChange }, queryOf: 'processCommand', body: 'ProcessCommandRequest' }),
    annotations: ADDS,
    run: async (ctx, args) => {
      const request: ProcessRequest = { ...(args.body as Omit<ProcessRequest, 'dryRun'>), dryRun: args.query.dry_run as boolean };
      const result = await processCommand(ctx, databaseOf(args), args.named.name as string, request);
      if (!result.success) return { structured: { success: false, error: result.error }, isError: true };
      return ok(processedAnswer(result));
    },
  },
];

export const TOOLS_BY_NAME: ReadonlyMap<string, FactumTool> = new Map(TOOLS.map((tool) => [tool.name, tool]));
