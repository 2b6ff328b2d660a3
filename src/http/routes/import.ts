/**
 * Restores: importing stored events (NDJSON, as `factum export` writes them, or a JSON array)
 * and component versions under their own numbers and creation times.
 */
import express, { Router, type RequestHandler } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';
import type { StoredEvent } from '../../core/events.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../core/json-depth.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { importComponentVersion, type ImportedKind } from '../../usecases/import-components.ts';
import { importEvents } from '../../usecases/import-events.ts';
import { requireDatabase } from '../../usecases/require-database.ts';
import { componentUpload } from '../upload.ts';
import { validate } from '../validate.ts';

const NDJSON = 'application/x-ndjson';

export function importRouter(ctx: FactumContext, options: { maxBodyBytes: number; maxComponentBytes: number }): Router {
  const router = Router();

  router.post('/databases/:database/import', express.text({ type: NDJSON, limit: options.maxBodyBytes }), validate('importEvents'), async (req, res) => {
    const events = Array.isArray(req.body) ? (req.body as StoredEvent[]) : parseNdjson(req.body as string);
    const { offset, dry_run: dryRun } = res.locals.query as { offset?: number; dry_run?: boolean };
    res.json(await importEvents(ctx, res.locals.params.database as string, events, { offset, dryRun }));
  });

  const versionImport = (kind: ImportedKind): RequestHandler => async (_req, res) => {
    const { metadata, wasm } = res.locals.upload;
    const result = await importComponentVersion(ctx, res.locals.params.database as string, kind, metadata, wasm);
    res.status(result.replayed ? 200 : 201).json(result);
  };
  // The database first: an upload of up to --max-component-bytes is not worth reading for none.
  const knownDatabase: RequestHandler = async (_req, res, next) => {
    await requireDatabase(ctx, res.locals.params.database as string);
    next();
  };
  const upload = componentUpload('ImportedComponentVersion', options.maxComponentBytes);
  router.post('/databases/:database/import/state-views', validate('importStateViewVersion'), knownDatabase, ...upload, versionImport('state-view'));
  router.post('/databases/:database/import/state-changes', validate('importStateChangeVersion'), knownDatabase, ...upload, versionImport('state-change'));

  return router;
}

/**
 * One JSON object per line; a last line may end the body with or without its newline. A line
 * that is empty, not JSON or nested deeper than any request may be is refused naming it,
 * counted from 1.
 */
function parseNdjson(body: string): StoredEvent[] {
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, index) => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    const refuse = (what: string, details: Record<string, unknown> = {}) =>
      new InvalidArgumentError(`line ${index + 1} of the body ${what}; send one event per line`, { line: index + 1, index, ...details });
    if (text.trim() === '') throw refuse('is empty');
    let event: StoredEvent;
    try {
      event = JSON.parse(text) as StoredEvent;
    } catch {
      throw refuse('is not valid JSON');
    }
    // What follows recurses (schema checks, serialising): as for JSON bodies, depth is bounded.
    if (nestsDeeperThan(event, MAX_JSON_DEPTH)) throw refuse(`nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`, { limit: MAX_JSON_DEPTH, reason: 'max_depth' });
    return event;
  });
}
