import { Router, type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { InvalidArgumentError, PayloadTooLargeError } from '../../core/errors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import {
  deleteStateView,
  listStateViews,
  publishStateView,
  renderStateView,
  stateViewVersions,
  type StateViewDefinition,
} from '../../usecases/state-views.ts';
import { componentValidator, describeSchemaError } from '../../schema/openapi.ts';
import { validate } from '../validate.ts';

/** Query parameters of a render that are not view parameters. */
const RENDER_OPTIONS = new Set(['revision', 'effective_time', 'version']);

export interface ComponentUpload {
  metadata: unknown;
  wasm: Uint8Array;
}

/**
 * Reads a multipart upload of `metadata` (JSON, as a field or a file part) and `wasm` (a file
 * part) with multer, within size limits, and checks the metadata against `schema` from
 * openapi.yaml. Shared by state views and state changes.
 */
export function componentUpload(schema: string, maxComponentBytes: number): RequestHandler[] {
  const check = componentValidator(schema);
  const parts = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxComponentBytes, files: 2, fields: 4, fieldSize: 1024 * 1024, parts: 6 },
  }).fields([
    { name: 'wasm', maxCount: 1 },
    { name: 'metadata', maxCount: 1 },
  ]);
  const read: RequestHandler = (req, res, next) => {
    const files = (req.files ?? {}) as Record<string, Express.Multer.File[] | undefined>;
    const wasm = files.wasm?.[0];
    const metadataText = files.metadata?.[0]?.buffer.toString('utf8') ?? (req.body as Record<string, unknown> | undefined)?.metadata;
    if (typeof metadataText !== 'string') return next(new InvalidArgumentError('the metadata part is missing', { field: 'metadata' }));
    if (!wasm) return next(new InvalidArgumentError('the wasm part is missing (a file part with the component)', { field: 'wasm' }));
    let metadata: unknown;
    try {
      metadata = JSON.parse(metadataText);
    } catch {
      return next(new InvalidArgumentError('the metadata part is not valid JSON', { field: 'metadata' }));
    }
    if (!check(metadata)) {
      const { message, details } = describeSchemaError(check.errors![0]!, 'metadata');
      return next(new InvalidArgumentError(message, details));
    }
    res.locals.upload = { metadata, wasm: new Uint8Array(wasm.buffer.buffer, wasm.buffer.byteOffset, wasm.buffer.byteLength) } satisfies ComponentUpload;
    next();
  };
  const parse: RequestHandler = (req, res, next) =>
    parts(req, res, (error?: unknown) => next(error instanceof multer.MulterError ? multerError(error, maxComponentBytes) : error));
  return [parse, read];
}

function multerError(error: multer.MulterError, maxComponentBytes: number): Error {
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return new PayloadTooLargeError(`the ${error.field ?? 'wasm'} part is over the limit of ${maxComponentBytes} bytes`, { field: error.field, limit: maxComponentBytes });
    case 'LIMIT_FIELD_VALUE':
      return new PayloadTooLargeError(`the ${error.field ?? 'metadata'} part is too large`, { field: error.field });
    case 'LIMIT_UNEXPECTED_FILE':
      return new InvalidArgumentError(`unexpected part "${error.field}": send only metadata and wasm`, { field: error.field });
    default:
      return new InvalidArgumentError(`malformed multipart upload: ${error.message}`, { reason: error.code });
  }
}

/** View parameters are plain `name=value` query parameters; a repeated name is ambiguous. */
function viewParams(req: Request): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.query)) {
    if (RENDER_OPTIONS.has(name)) continue;
    if (typeof value !== 'string') throw new InvalidArgumentError(`parameter "${name}" must be given once`, { field: name });
    params[name] = value;
  }
  return params;
}

export function stateViewsRouter(ctx: FactumContext, options: { maxComponentBytes: number }): Router {
  const router = Router();
  const upload = componentUpload('StateViewMetadata', options.maxComponentBytes);

  for (const path of ['/databases/:database/state-views', '/api/v1/db/:database/state-views']) {
    router.post(path, validate(path.startsWith('/api') ? 'publishStateViewAlias' : 'publishStateView'), ...upload, async (_req, res) => {
      const database = res.locals.params.database as string;
      const { metadata, wasm } = res.locals.upload as ComponentUpload;
      const version = await publishStateView(ctx, database, metadata as StateViewDefinition, wasm);
      res
        .status(201)
        .location(`/databases/${database}/state-views/${version.state_view_name}?version=${version.version}`)
        .json({ state_view: version });
    });
  }

  router.get('/databases/:database/state-views', validate('listStateViews'), async (_req, res) => {
    res.json({ state_views: await listStateViews(ctx, res.locals.params.database as string) });
  });

  router.get('/databases/:database/state-views/:name/versions', validate('listStateViewVersions'), async (_req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    res.json({ versions: await stateViewVersions(ctx, database, name) });
  });

  router.get('/databases/:database/state-views/:name', validate('renderStateView'), async (req, res) => {
    const { database, name } = res.locals.params as { database: string; name: string };
    const query = res.locals.query as { revision?: number; effective_time?: string; version?: number };
    const result = await renderStateView(ctx, database, name, {
      revision: query.revision,
      effectiveTime: query.effective_time,
      version: query.version,
      params: viewParams(req),
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
