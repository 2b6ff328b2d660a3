/** The WebAssembly bytes of a published version, for backups (`factum export`) and inspection. */
import { Router, type RequestHandler } from 'express';
import { STATE_CHANGES, STATE_VIEWS, type ComponentKind } from '../../usecases/component-kinds.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { componentBytes } from '../../usecases/export-components.ts';
import { validate } from '../validate.ts';

export function componentsDownloadRouter(ctx: FactumContext): Router {
  const router = Router();
  const download = (kind: ComponentKind): RequestHandler => async (_req, res) => {
    const { database, name, version } = res.locals.params as { database: string; name: string; version: number };
    const { wasm, version: record } = await componentBytes(ctx, database, kind, name, version);
    res
      .type('application/wasm')
      .set({ ETag: `"${record.component_sha256}"`, 'Content-Disposition': `attachment; filename="${name}-v${version}.wasm"` })
      .send(Buffer.from(wasm.buffer, wasm.byteOffset, wasm.byteLength));
  };
  router.get('/databases/:database/state-views/:name/versions/:version/component', validate('downloadStateViewComponent'), download(STATE_VIEWS));
  router.get('/databases/:database/state-changes/:name/versions/:version/component', validate('downloadStateChangeComponent'), download(STATE_CHANGES));
  return router;
}
