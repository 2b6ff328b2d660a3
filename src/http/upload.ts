/**
 * The one multipart reader, for the API's component uploads and the console's upload forms:
 * a `wasm` file part (and, for the API, a `metadata` part that may come as a file), text fields
 * into `req.body` as multer puts them, within size limits.
 */
import type { RequestHandler, Router } from 'express';
import multer from 'multer';
import { InvalidArgumentError } from '../core/errors.ts';
import { assertSchema } from '../schema/openapi.ts';
import type { FactumContext } from '../usecases/context.ts';
import { requireDatabase } from '../usecases/require-database.ts';
import { contentEncodingError, multipartError, type MultipartLimits } from './errors.ts';
import { assertJsonNesting } from './json-nesting.ts';
import { validate } from './validate.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The file parts of a multipart upload, by field name. */
    files: Record<string, Uint8Array | undefined>;
    /** A component upload of the API, its metadata checked. */
    upload: ComponentUpload;
  }
}

export interface ComponentUpload {
  metadata: unknown;
  wasm: Uint8Array;
}

/** Text fields are small (metadata, a form's fields); files are components. */
const FIELD_BYTES = 1024 * 1024;

/**
 * Reads a multipart body: file parts into `res.locals.files`, text fields into `req.body`. A
 * refusal (a part over its limit, an unexpected file, a malformed body) is passed on as a
 * FactumError; the text fields read before it stay in `req.body`, so a form can be shown again
 * as it was filled in. Multipart bodies are read as sent: one in a content coding (gzip, …) is
 * refused rather than parsed as the compressed bytes.
 */
export function multipartUpload(maxComponentBytes: number): RequestHandler {
  const limits: MultipartLimits = { fileSize: maxComponentBytes, fieldSize: FIELD_BYTES };
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: { ...limits, files: 2, fields: 8, parts: 10 },
  }).fields([
    { name: 'wasm', maxCount: 1 },
    { name: 'metadata', maxCount: 1 },
  ]);
  return (req, res, next) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') return next(contentEncodingError(encoding, ['identity']));
    parse(req, res, (error?: unknown) => {
      if (error) return next(multipartError(error, limits));
      const parts = (req.files ?? {}) as Record<string, Express.Multer.File[] | undefined>;
      res.locals.files = {};
      for (const [name, [file] = []] of Object.entries(parts)) {
        if (file) res.locals.files[name] = new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
      }
      next();
    });
  };
}

/**
 * The API's component upload: `metadata` (JSON, as a field or a file part) checked against
 * `schema` from openapi.yaml, and `wasm`, into `res.locals.upload`. Shared by state views and
 * state changes.
 */
export function componentUpload(schema: string, maxComponentBytes: number): RequestHandler[] {
  const read: RequestHandler = (req, res, next) => {
    const { wasm, metadata: metadataFile } = res.locals.files;
    const metadataText = metadataFile ? Buffer.from(metadataFile).toString('utf8') : (req.body as Record<string, unknown> | undefined)?.metadata;
    if (typeof metadataText !== 'string') return next(new InvalidArgumentError('the metadata part is missing', { field: 'metadata' }));
    if (!wasm) return next(new InvalidArgumentError('the wasm part is missing (a file part with the component)', { field: 'wasm' }));
    let metadata: unknown;
    try {
      metadata = JSON.parse(metadataText);
    } catch {
      return next(new InvalidArgumentError('the metadata part is not valid JSON', { field: 'metadata' }));
    }
    assertJsonNesting(metadata, 'metadata', 'the metadata part');
    assertSchema(schema, metadata, 'metadata');
    res.locals.upload = { metadata, wasm };
    next();
  };
  return [multipartUpload(maxComponentBytes), read];
}

/** What the publish routes of a component kind are called and check. */
export interface PublishRoutes {
  /** The path segment under a database: `state-views`. */
  segment: string;
  /** The operationId of the main path; its `/api/v1/db` alias is `<operationId>Alias`. */
  operationId: string;
  /** The schema of the metadata part. */
  metadataSchema: string;
}

/**
 * Adds the publish routes of a component kind, `/databases/{database}/<segment>` and its alias
 * `/api/v1/db/{database}/<segment>`: each validated as its own operation, the database looked
 * up (an upload of up to --max-component-bytes is not worth reading for one that does not
 * exist), then the upload read into `res.locals.upload` for `publish`.
 */
export function addPublishRoutes(router: Router, ctx: FactumContext, routes: PublishRoutes, maxComponentBytes: number, publish: RequestHandler): void {
  const upload = componentUpload(routes.metadataSchema, maxComponentBytes);
  const knownDatabase: RequestHandler = async (_req, res, next) => {
    await requireDatabase(ctx, res.locals.params.database as string);
    next();
  };
  router.post(`/databases/:database/${routes.segment}`, validate(routes.operationId), knownDatabase, ...upload, publish);
  router.post(`/api/v1/db/:database/${routes.segment}`, validate(`${routes.operationId}Alias`), knownDatabase, ...upload, publish);
}
