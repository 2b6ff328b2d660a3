/**
 * State changes: command handlers uploaded as WebAssembly components. Processing a command
 * renders the state views the state change declared (with parameters bound from the request
 * and the command) at one revision R, asks the component to decide, and appends its events
 * with a constraint per view that no event that view selects was appended after R. If one was,
 * the views are rendered again and the component decides again, a bounded number of times.
 * Events elsewhere in the database never cause a retry.
 */
import { FailedPreconditionError, FactumError, InvalidArgumentError, type ErrorDetails } from '../core/errors.ts';
import { parseStoredEvent, type CloudEvent, type StoredEvent } from '../core/events.ts';
import { assertSchema } from '../schema/openapi.ts';
import { parseConstraints, type RevisionConstraint } from '../core/constraints.ts';
import { done, tryAgain, withRetries, type RetryPolicy } from '../core/retry.ts';
import { ComponentFailedError, toCloudEvent, toWireConstraint, type Rejection, type ViewState } from '../wasm/index.ts';
import { appendEvents } from './append-events.ts';
import {
  componentNames,
  componentVersion,
  componentVersions,
  deleteComponent,
  preparedKey,
  publishComponent,
} from './component-registry.ts';
import { STATE_CHANGES } from './component-kinds.ts';
import type { ApiSchemas } from '../schema/api-types.ts';
import type { FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';
import { renderStateView, stateViewVersion, viewSelector } from './state-views.ts';

export type StateChangeDefinition = ApiSchemas['StateChangeMetadata'];
/**
 * A state view a state change reads, and how its parameters are bound: view parameter →
 * template, where `{x}` is replaced by the request parameter `x`, or else by the top-level
 * field `x` of a JSON command; other text is kept as is.
 */
export type ViewBinding = NonNullable<StateChangeDefinition['state_views']>[number];
export type StateChangeVersion = ApiSchemas['StateChangeVersion'];
export type StateChangeSummary = ApiSchemas['StateChangeSummary'];
export type ProcessRequest = ApiSchemas['ProcessCommandRequest'] & { dryRun?: boolean };

export type ProcessResult =
  | { success: true; events: StoredEvent[] | Array<CloudEvent & { revision: number }>; revision: number; attempts: number; dry_run?: true; replayed?: true }
  | { success: false; status: number; error: { code: string; message: string; details: ErrorDetails }; kind: Rejection['kind'] };

/** Rounds of render-decide-append before a command under constant contention is given up. */
const DECIDE_RETRIES: RetryPolicy = { maxAttempts: 30 };

/** How a component's rejection kind is answered over HTTP. */
export const REJECTION_STATUS: Record<Rejection['kind'], number> = {
  validation: 400,
  unauthorized: 403,
  'not-found': 404,
  conflict: 409,
  internal: 500,
};

const encoder = new TextEncoder();

export async function publishStateChange(ctx: FactumContext, database: string, definition: StateChangeDefinition, component: Uint8Array): Promise<StateChangeVersion> {
  // The views it reads must exist now; their versions may move on later.
  for (const binding of definition.state_views ?? []) await stateViewVersion(ctx, database, binding.name, binding.version);
  return publishComponent(ctx, database, STATE_CHANGES, definition.state_change_name, definition, component);
}

export function stateChangeVersions(ctx: FactumContext, database: string, name: string): Promise<StateChangeVersion[]> {
  return componentVersions<StateChangeVersion>(ctx, database, STATE_CHANGES, name);
}

export async function listStateChanges(ctx: FactumContext, database: string): Promise<StateChangeSummary[]> {
  const names = await componentNames(ctx, database, STATE_CHANGES);
  const latest = await Promise.all(names.map((name) => componentVersion<StateChangeVersion>(ctx, database, STATE_CHANGES, name)));
  return latest.map(stateChangeSummary);
}

/** How a state change is listed, from its latest version. */
export function stateChangeSummary(v: StateChangeVersion): StateChangeSummary {
  return { name: v.state_change_name, description: v.description ?? null, state_views: (v.state_views ?? []).map((b) => b.name), latest_version: v.version };
}

export function deleteStateChange(ctx: FactumContext, database: string, name: string): Promise<void> {
  return deleteComponent(ctx, database, STATE_CHANGES, name);
}

export async function processCommand(ctx: FactumContext, database: string, name: string, request: ProcessRequest): Promise<ProcessResult> {
  await requireDatabase(ctx, database);
  const change = await componentVersion<StateChangeVersion>(ctx, database, STATE_CHANGES, name);
  const key = await preparedKey(ctx, database, STATE_CHANGES, name, change);
  const parameters = request.parameters ?? {};
  const body = encoder.encode(JSON.stringify(request.command));
  const receivedAt = ctx.now().toISOString();

  return withRetries(DECIDE_RETRIES, { what: `state change "${name}"`, why: 'the state views it reads kept changing', details: { state_change: name } }, async (attempt) => {
    const head = (await requireDatabase(ctx, database)).latest_revision;
    const views: ViewState[] = [];
    const guards: RevisionConstraint[] = [];
    for (const binding of change.state_views ?? []) {
      const params = bindParameters(binding, parameters, request.command);
      const view = await stateViewVersion(ctx, database, binding.name, binding.version);
      const rendered = await renderStateView(ctx, database, binding.name, { revision: head, version: view.version, params });
      if (rendered.notModified) throw new Error('unreachable: rendered without If-None-Match');
      views.push({
        name: binding.name,
        version: view.version,
        params: Object.entries(params),
        revision: BigInt(head),
        contentType: rendered.contentType,
        content: rendered.content,
      });
      // Nothing this view reads may change between the render and the write.
      guards.push({ type: 'max_revision', revision: head, selector: viewSelector(view, params) });
    }

    const outcome = await ctx.components.decide(
      key,
      {
        body,
        contentType: 'application/json',
        params: Object.entries(parameters),
        lastSeenRevision: request.last_seen_revision === undefined ? undefined : BigInt(request.last_seen_revision),
        receivedAt,
      },
      views,
    );
    if (!outcome.ok) return done(rejectionResult(outcome.rejection));

    const { events, constraints } = readDecision(key, outcome.decision);
    if (events.length === 0) return done<ProcessResult>({ success: true, events: [], revision: head, attempts: attempt, ...(request.dryRun ? { dry_run: true as const } : {}) });
    try {
      const result = await appendEvents(ctx, database, events, [...guards, ...constraints], { dryRun: request.dryRun });
      const first = result.revision - events.length + 1;
      if (result.dry_run) {
        return done<ProcessResult>({ success: true, events: events.map((e, i) => ({ ...e, revision: first + i })), revision: result.revision, attempts: attempt, dry_run: true });
      }
      const stored = await ctx.store.query(database, { fromRevision: first, toRevision: result.revision, direction: 'forward', limit: events.length });
      return done<ProcessResult>({
        success: true,
        events: stored.events.map(parseStoredEvent),
        revision: result.revision,
        attempts: attempt,
        ...(result.replayed ? { replayed: true as const } : {}),
      });
    } catch (error) {
      // A view's guard failed: what the component decided on is stale. Decide again.
      const violated = error instanceof FailedPreconditionError ? (error.details.violations as Array<{ index: number }>) : [];
      if (violated.some((v) => v.index < guards.length) && violated.every((v) => v.index < guards.length)) return tryAgain;
      throw error;
    }
  });
}

function bindParameters(binding: ViewBinding, parameters: Record<string, string>, command: unknown): Record<string, string> {
  const fields = command && typeof command === 'object' && !Array.isArray(command) ? (command as Record<string, unknown>) : {};
  const bound: Record<string, string> = {};
  for (const [param, template] of Object.entries(binding.parameters ?? {})) {
    bound[param] = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const value = parameters[name] ?? fields[name];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
      // A command that is not an object has no fields at all: that is the mistake to name first.
      if (fields !== command && parameters[name] === undefined) {
        throw new InvalidArgumentError(
          `command must be a JSON object: state view "${binding.name}" is read with its field "${name}" (or give "${name}" in "parameters")`,
          { field: 'command', needs: name },
        );
      }
      throw new InvalidArgumentError(`parameter "${name}" is required (in "parameters" or as a field of the command) to read state view "${binding.name}"`, {
        field: `parameters.${name}`,
      });
    });
  }
  return bound;
}

/**
 * Components are untrusted: what they decide is checked by the very schema that checks a
 * client's append (openapi.yaml's AppendRequest), and a failure is the component's fault.
 */
function readDecision(key: string, decision: { events: Parameters<typeof toCloudEvent>[0][]; constraints: Parameters<typeof toWireConstraint>[0][] }) {
  try {
    const events = decision.events.map(toCloudEvent);
    const wireConstraints = decision.constraints.map(toWireConstraint);
    if (events.length > 0) assertSchema('AppendRequest', { events, constraints: wireConstraints });
    return { events, constraints: parseConstraints(wireConstraints) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ComponentFailedError(`state change "${key}" decided something invalid: ${message}`, error instanceof FactumError ? error.details : {});
  }
}

function rejectionResult(rejection: Rejection): ProcessResult {
  let details: ErrorDetails = {};
  if (rejection.details !== undefined) {
    try {
      const parsed = JSON.parse(rejection.details) as unknown;
      details = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ErrorDetails) : { value: parsed };
    } catch {
      details = { text: rejection.details };
    }
  }
  return {
    success: false,
    status: REJECTION_STATUS[rejection.kind] ?? 500,
    kind: rejection.kind,
    error: { code: rejection.code, message: rejection.message, details },
  };
}
