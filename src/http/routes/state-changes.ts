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
import { addPublishRoutes } from '../upload.ts';
import { validate } from '../validate.ts';

export function stateChangesRouter(ctx: FactumContext, options: { maxComponentBytes: number }): Router {
  const router = Router();
  const publishing = { segment: 'state-changes', operationId: 'publishStateChange', metadataSchema: 'StateChangeMetadata' };
  addPublishRoutes(router, publishing, options.maxComponentBytes, async (_req, res) => {
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
