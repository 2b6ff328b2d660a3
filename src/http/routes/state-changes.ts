import { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import {
  deleteStateChange,
  listStateChanges,
  processCommand,
  publishStateChange,
  stateChangeVersions,
  type ProcessRequest,
  type StateChangeDefinition,
} from '../../usecases/state-changes.ts';
import { jsonErrorHandler } from '../errors.ts';
import { addPublishRoutes } from '../upload.ts';
import { validate } from '../validate.ts';

/**
 * The process route answers in one shape: `success` says how it went, and every error answer
 * carries `success: false` beside the standard `error` — the component's rejections and the
 * server's refusals alike (no such state change, a bad body, a view that failed), so a client
 * can branch on `success` whatever went wrong.
 */
export const processErrorHandler = jsonErrorHandler({ success: false });

/**
 * The process route's path, matched without decoding it: the error handler is mounted on the
 * app, so it also answers what is refused before the route runs (the body parser's refusals, a
 * path that does not decode).
 */
export const PROCESS_COMMAND_PATH = /^\/databases\/[^/]+\/state-changes\/[^/]+\/process\/?$/i;

export function stateChangesRouter(ctx: FactumContext, options: { maxComponentBytes: number }): Router {
  const router = Router();
  const publishing = { segment: 'state-changes', operationId: 'publishStateChange', metadataSchema: 'StateChangeMetadata' };
  addPublishRoutes(router, ctx, publishing, options.maxComponentBytes, async (_req, res) => {
    const database = res.locals.params.database as string;
    const version = await publishStateChange(ctx, database, res.locals.upload.metadata as StateChangeDefinition, res.locals.upload.wasm);
    res.status(201).location(`/databases/${database}/state-changes/${version.state_change_name}`).json({ state_change: version });
  });

  router.get('/databases/:database/state-changes', validate('listStateChanges'), async (_req, res) => {
    res.json({ state_changes: await listStateChanges(ctx, res.locals.params.database as string) });
  });

  router.get('/databases/:database/state-changes/:name', validate('getStateChange'), async (_req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    const versions = await stateChangeVersions(ctx, database, name);
    res.json({ state_change: versions.at(-1), versions });
  });

  router.delete('/databases/:database/state-changes/:name', validate('deleteStateChange'), async (_req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    await deleteStateChange(ctx, database, name);
    res.status(204).end();
  });

  router.post('/databases/:database/state-changes/:name/process', validate('processCommand'), async (req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    const { dry_run: dryRun } = res.locals.query as { dry_run?: boolean };
    const body = req.body as Omit<ProcessRequest, 'dryRun'>;
    const result = await processCommand(ctx, database, name, { ...body, dryRun });
    if (!result.success) {
      res.status(result.status).json({ success: false, error: result.error });
      return;
    }
    const { attempts, ...answer } = result;
    res.set('Factum-Attempts', String(attempts)).json(answer);
  });

  return router;
}
