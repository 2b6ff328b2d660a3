import { Router } from 'express';
import type { FactumContext } from '../../usecases/context.ts';
import {
  deleteStateView,
  listStateViews,
  publishStateView,
  renderStateView,
  stateViewVersions,
  type StateViewDefinition,
} from '../../usecases/state-views.ts';
import { splitRenderQuery, toRenderRequest, type RenderOptions } from '../render-query.ts';
import { addPublishRoutes } from '../upload.ts';
import { validate } from '../validate.ts';

export function stateViewsRouter(ctx: FactumContext, options: { maxComponentBytes: number }): Router {
  const router = Router();
  const publishing = { segment: 'state-views', operationId: 'publishStateView', metadataSchema: 'StateViewMetadata' };
  addPublishRoutes(router, ctx, publishing, options.maxComponentBytes, async (_req, res) => {
    const database = res.locals.params.database as string;
    const version = await publishStateView(ctx, database, res.locals.upload.metadata as StateViewDefinition, res.locals.upload.wasm);
    res
      .status(201)
      .location(`/databases/${database}/state-views/${version.state_view_name}?version=${version.version}`)
      .json({ state_view: version });
  });

  router.get('/databases/:database/state-views', validate('listStateViews'), async (_req, res) => {
    res.json({ state_views: await listStateViews(ctx, res.locals.params.database as string) });
  });

  router.get('/databases/:database/state-views/:name/versions', validate('listStateViewVersions'), async (_req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    res.json({ versions: await stateViewVersions(ctx, database, name) });
  });

  router.get('/databases/:database/state-views/:name', validate('renderStateView'), async (req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    const result = await renderStateView(ctx, database, name, {
      ...toRenderRequest(res.locals.query as RenderOptions, splitRenderQuery(req.query).params),
      ifNoneMatch: req.headers['if-none-match']?.split(',').map((t) => t.trim()),
    });
    res.set({
      ETag: result.etag,
      'Cache-Control': 'no-cache',
      'Factum-Revision': String(result.revision),
      'Factum-State-View-Version': String(result.version),
      'Factum-Evolved-Events': String(result.evolvedEvents),
      // A view declares its own content type; if it is HTML, it must not run script on this
      // origin (where the console lives): sandbox it, and forbid guessing another type.
      'Content-Security-Policy': "sandbox; default-src 'none'",
      'X-Content-Type-Options': 'nosniff',
    });
    if (result.notModified) {
      res.status(304).end();
      return;
    }
    res.type(result.contentType).send(Buffer.from(result.content.buffer, result.content.byteOffset, result.content.byteLength));
  });

  router.delete('/databases/:database/state-views/:name', validate('deleteStateView'), async (_req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    await deleteStateView(ctx, database, name);
    res.status(204).end();
  });

  return router;
}
