/**
 * State views: WebAssembly projections uploaded to a database and rendered on demand. Versions
 * are kept by the component registry. Rendering keeps snapshots of the state, per version and
 * parameters, as blobs of the database:
 *   state-view-snapshots/<name>/<version>/<params hash>/<revision>
 * so rendering after N new events evolves only those N, and a render at an earlier revision
 * starts from the nearest snapshot before it. Snapshots live in storage and survive restarts.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../core/errors.ts';
import { parseStoredEvent } from '../core/events.ts';
import { bindSelector, parseSelector, selectorParameters, type Selector } from '../core/selectors.ts';
import {
  componentNames,
  componentVersion,
  componentVersions,
  deleteComponent,
  preparedKey,
  publishComponent,
} from './component-registry.ts';
import { STATE_VIEWS } from './component-kinds.ts';
import type { ApiSchemas } from '../schema/api-types.ts';
import { assertSchema } from '../schema/openapi.ts';
import { settingsOf, type FactumContext } from './context.ts';
import { requireDatabase } from './require-database.ts';


/** What a user sends to publish a state view (validated against openapi.yaml before here). */
export type StateViewDefinition = ApiSchemas['StateViewMetadata'];
/** A published version; `parameters` are the names its event selector binds. */
export type StateViewVersion = ApiSchemas['StateViewVersion'];
export type StateViewSummary = ApiSchemas['StateViewSummary'];
export type QueryTemporality = StateViewDefinition['query_temporality'];

export interface RenderRequest {
  revision?: number;
  effectiveTime?: string;
  version?: number;
  params: Record<string, string>;
  /** The client's cached ETags (If-None-Match). */
  ifNoneMatch?: string[];
}

export type RenderResult = {
  name: string;
  version: number;
  /** The revision the view was rendered at. */
  revision: number;
  etag: string;
  /** How many events were evolved for this render (0 when answered from a snapshot). */
  evolvedEvents: number;
} & ({ notModified: true } | { notModified: false; contentType: string; content: Uint8Array });

const SNAPSHOT_PREFIX = 'state-view-snapshots/';
/** Snapshots kept per (version, parameters): the newest ones, where reads concentrate. */
const SNAPSHOTS_KEPT = 8;
const EVOLVE_PAGE = 1000;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export async function publishStateView(
  ctx: FactumContext,
  database: string,
  definition: StateViewDefinition,
  component: Uint8Array,
): Promise<StateViewVersion> {
  const selector = parseSelector(definition.event_selector, 'event_selector');
  const parameters = [...new Set([...selectorParameters(selector), ...(definition.parameters ?? [])])].sort();
  return publishComponent(ctx, database, STATE_VIEWS, definition.state_view_name, { ...definition, parameters }, component);
}

/** Every published version of a view, oldest first. */
export function stateViewVersions(ctx: FactumContext, database: string, name: string): Promise<StateViewVersion[]> {
  return componentVersions<StateViewVersion>(ctx, database, STATE_VIEWS, name);
}

export function stateViewVersion(ctx: FactumContext, database: string, name: string, version?: number): Promise<StateViewVersion> {
  return componentVersion<StateViewVersion>(ctx, database, STATE_VIEWS, name, version);
}

export async function listStateViews(ctx: FactumContext, database: string): Promise<StateViewSummary[]> {
  const names = await componentNames(ctx, database, STATE_VIEWS);
  const latest = await Promise.all(names.map((name) => stateViewVersion(ctx, database, name)));
  return latest.map(stateViewSummary);
}

/** How a view is listed, from its latest version. */
export function stateViewSummary(v: StateViewVersion): StateViewSummary {
  return {
    name: v.state_view_name,
    description: v.description ?? null,
    content_type: v.content_type,
    query_temporality: v.query_temporality,
    parameterized: v.parameters.length > 0,
    parameters: v.parameters,
    latest_version: v.version,
  };
}

export function deleteStateView(ctx: FactumContext, database: string, name: string): Promise<void> {
  return deleteComponent(ctx, database, STATE_VIEWS, name, [`${SNAPSHOT_PREFIX}${name}/`]);
}

/** The view's event selector with its parameters bound. */
export function viewSelector(view: StateViewVersion, params: Readonly<Record<string, string>>): Selector {
  return bindSelector(parseSelector(view.event_selector, 'event_selector'), params);
}

export async function renderStateView(ctx: FactumContext, database: string, name: string, request: RenderRequest): Promise<RenderResult> {
  const head = (await requireDatabase(ctx, database)).latest_revision;
  const view = await stateViewVersion(ctx, database, name, request.version);
  if (request.revision !== undefined && request.revision > head) {
    throw new InvalidArgumentError(`revision ${request.revision} is beyond the latest revision ${head}`, { field: 'revision', latest_revision: head });
  }
  if (request.effectiveTime !== undefined && view.query_temporality !== 'effective_timestamp') {
    throw new InvalidArgumentError(`state view "${name}" is read by revision; effective_time does not apply`, { field: 'effective_time' });
  }
  checkViewParameters(view, request.params);
  const revision = request.revision ?? head;
  const toTimeMs = request.effectiveTime === undefined ? undefined : Date.parse(request.effectiveTime);
  const selector = viewSelector(view, request.params);
  const params = request.params;

  // The content depends only on the matching events up to `revision`, so the latest of them
  // identifies it: new events elsewhere in the database keep the ETag valid.
  const latestMatching = await lastMatchingRevision(ctx, database, selector, revision, toTimeMs);
  const etag = `"${createHash('sha256')
    .update(JSON.stringify([view.component_sha256, view.version, canonicalParams(params), latestMatching, toTimeMs ?? null]))
    .digest('base64url')
    .slice(0, 27)}"`;
  const base = { name, version: view.version, revision, etag };
  if (request.ifNoneMatch?.some((tag) => tag === etag || tag === `W/${etag}` || tag === '*')) {
    return { ...base, evolvedEvents: 0, notModified: true };
  }

  const key = await preparedKey(ctx, database, STATE_VIEWS, name, view);

  // Effective-time renders fold a different set of events for every instant, so they are
  // computed from the start; revision renders resume from the nearest snapshot.
  const snapshotDir = `${SNAPSHOT_PREFIX}${name}/${pad(view.version, 10)}/${paramsHash(params)}/`;
  const snapshot = toTimeMs === undefined ? await nearestSnapshot(ctx, database, snapshotDir, revision) : undefined;
  if (toTimeMs === undefined) await touchSnapshotSet(ctx, database, snapshotDir);
  let state = snapshot?.state ?? (await ctx.components.initialState(key, params));
  let evolvedEvents = 0;
  let from = (snapshot?.revision ?? 0) + 1;
  while (from <= revision) {
    const page = await ctx.store.query(database, { selector, fromRevision: from, toRevision: revision, toTimeMs, direction: 'forward', limit: EVOLVE_PAGE });
    if (page.events.length === 0) break;
    state = await ctx.components.evolve(key, state, page.events.map(parseStoredEvent), params);
    evolvedEvents += page.events.length;
    if (!page.hasMore) break;
    from = page.events.at(-1)!.revision + 1;
  }
  // Saving the snapshot (file I/O here) and rendering (a component call in a worker thread) do
  // not depend on each other, so they overlap; a failed save still fails the render first.
  const saving =
    toTimeMs === undefined && (snapshot === undefined || evolvedEvents > 0) && revision > (snapshot?.revision ?? 0)
      ? saveSnapshot(ctx, database, snapshotDir, revision, state, snapshot === undefined)
      : undefined;
  const [saved, rendered] = await Promise.allSettled([saving, ctx.components.render(key, state, params)]);
  if (saved.status === 'rejected') throw saved.reason;
  if (rendered.status === 'rejected') throw rendered.reason;
  const content = rendered.value;
  return { ...base, evolvedEvents, notModified: false, contentType: view.content_type, content };
}

function canonicalParams(params: Record<string, string>): Array<[string, string]> {
  return Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function paramsHash(params: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(canonicalParams(params))).digest('base64url').slice(0, 22);
}

async function lastMatchingRevision(ctx: FactumContext, database: string, selector: Selector, revision: number, toTimeMs: number | undefined): Promise<number> {
  const page = await ctx.store.query(database, { selector, toRevision: revision, toTimeMs, direction: 'backward', limit: 1 });
  return page.events[0]?.revision ?? 0;
}

/** Snapshot keys end in their revision, zero-padded; recency markers in `used-<epoch ms>`. */
const isSnapshotKey = (key: string, dir: string) => /^\d{16}$/.test(key.slice(dir.length));
const USED_MARKER = 'used-';
/** A set's recency is written at most this often per server: a read writes only now and then. */
const TOUCH_INTERVAL_MS = 60_000;
const lastTouched = new Map<string, number>();

async function nearestSnapshot(ctx: FactumContext, database: string, dir: string, revision: number): Promise<{ revision: number; state: Uint8Array } | undefined> {
  const revisions = (await ctx.store.listBlobs(database, dir)).filter((k) => isSnapshotKey(k, dir)).map((k) => Number(k.slice(dir.length))).filter((r) => r <= revision);
  const best = revisions.length > 0 ? Math.max(...revisions) : undefined;
  if (best === undefined) return undefined;
  const state = await ctx.store.getBlob(database, `${dir}${pad(best, 16)}`);
  return state && { revision: best, state };
}

async function saveSnapshot(ctx: FactumContext, database: string, dir: string, revision: number, state: Uint8Array, newSet: boolean): Promise<void> {
  await ctx.store.putBlob(database, `${dir}${pad(revision, 16)}`, state);
  const keys = (await ctx.store.listBlobs(database, dir)).filter((k) => isSnapshotKey(k, dir));
  for (const old of keys.slice(0, Math.max(0, keys.length - SNAPSHOTS_KEPT))) await ctx.store.deleteBlobs(database, old);
  if (newSet) await dropLeastRecentSets(ctx, database, dir);
}

/**
 * Records that a parameter set was rendered now, as the name of a marker blob (so recency can
 * be read from a listing, without reading every set's blobs).
 */
async function touchSnapshotSet(ctx: FactumContext, database: string, dir: string): Promise<void> {
  const now = ctx.now().getTime();
  const key = `${database}/${dir}`;
  if (now - (lastTouched.get(key) ?? 0) < TOUCH_INTERVAL_MS) return;
  lastTouched.set(key, now);
  if (lastTouched.size > 100_000) lastTouched.delete(lastTouched.keys().next().value!);
  const markers = (await ctx.store.listBlobs(database, `${dir}${USED_MARKER}`)).filter((k) => k !== `${dir}${USED_MARKER}${pad(now, 16)}`);
  await ctx.store.putBlob(database, `${dir}${USED_MARKER}${pad(now, 16)}`, new TextEncoder().encode(new Date(now).toISOString()));
  for (const old of markers) await ctx.store.deleteBlobs(database, old);
}

/** Keeps at most `maxViewSnapshotSets` parameter sets of a view version: the most recently used. */
async function dropLeastRecentSets(ctx: FactumContext, database: string, dir: string): Promise<void> {
  const versionDir = dir.slice(0, dir.slice(0, -1).lastIndexOf('/') + 1);
  const recency = new Map<string, number>();
  for (const key of await ctx.store.listBlobs(database, versionDir)) {
    const [set, leaf] = key.slice(versionDir.length).split('/');
    const used = leaf?.startsWith(USED_MARKER) ? Number(leaf.slice(USED_MARKER.length)) : 0;
    recency.set(set!, Math.max(recency.get(set!) ?? 0, used));
  }
  const excess = recency.size - settingsOf(ctx).maxViewSnapshotSets;
  if (excess <= 0) return;
  const oldest = [...recency].sort(([, a], [, b]) => a - b).slice(0, excess);
  for (const [set] of oldest) await ctx.store.deleteBlobs(database, `${versionDir}${set}/`);
}

/**
 * A view takes the parameters its selector binds and those it declares; anything else is most
 * likely a typo or a tracking tag, and would otherwise render silently and keep its own snapshots.
 */
function checkViewParameters(view: StateViewVersion, params: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(params)) {
    if (!view.parameters.includes(name)) {
      const takes = view.parameters.length > 0 ? `its parameters are ${view.parameters.join(', ')}` : 'it takes none';
      throw new InvalidArgumentError(`state view "${view.state_view_name}" has no parameter "${name.slice(0, 100)}"; ${takes}`, {
        field: name.slice(0, 100),
        parameters: view.parameters,
      });
    }
    assertSchema('ViewParameterValue', value, name);
  }
}
