/**
 * What there is to send requests to, found rather than listed, so a new route is covered as soon
 * as it exists: every operation of openapi.yaml, and every route of the Express app (the console's
 * are those openapi.yaml does not describe).
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parse } from 'yaml';
import { createApp } from '../../src/http/app.ts';
import { CONSOLE_PATH } from '../../src/http/console/index.ts';
import { OPENAPI_PATH } from '../../src/schema/openapi.ts';
import type { FactumContext } from '../../src/usecases/context.ts';

export interface ApiOperation {
  operationId: string;
  method: string;
  /** `/databases/{database}/events/{revision}` */
  template: string;
  pathParams: string[];
  queryParams: string[];
  /** The request body's media types, if it takes one. */
  mediaTypes: string[];
  tags: string[];
}

export interface AppRoute {
  method: string;
  /** `/databases/:database/console/events/:revision` */
  path: string;
  pathParams: string[];
}

const document = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  info: { description: string };
  paths: Record<string, Record<string, { operationId?: string; tags?: string[]; parameters?: Array<{ in: string; name?: string; $ref?: string }>; requestBody?: { content: Record<string, unknown> } }>>;
  components: { parameters: Record<string, { in: string; name: string }> };
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

type ParameterRef = { in: string; name?: string; $ref?: string };
const resolve = (p: ParameterRef) => (p.$ref ? document.components.parameters[p.$ref.split('/').at(-1)!]! : (p as { in: string; name: string }));

export function apiOperations(): ApiOperation[] {
  const operations: ApiOperation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    const shared = ((item as { parameters?: ParameterRef[] }).parameters ?? []).map(resolve);
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op?.operationId) continue;
      const params = [...shared, ...(op.parameters ?? []).map(resolve)];
      operations.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        pathParams: [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        mediaTypes: Object.keys(op.requestBody?.content ?? {}),
        tags: op.tags ?? [],
      });
    }
  }
  return operations;
}

/** The error codes of the table at the top of openapi.yaml, with their statuses. */
export function errorTable(): Map<string, number> {
  const rows = [...document.info.description.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \|/gm)];
  return new Map(rows.map((row) => [row[1]!, Number(row[2])]));
}

/** Every route of the app, as Express holds them (for a context no route is called with). */
export function appRoutes(ctx: FactumContext): AppRoute[] {
  const app = createApp(ctx, { logger: pino({ level: 'silent' }), version: 'test', maxBodyBytes: 1024, maxComponentBytes: 1024 });
  const routes: AppRoute[] = [];
  const walk = (stack: ExpressLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        // `router.all` routes every method; the methods openapi.yaml documents for them are its own.
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          routes.push({ method: method.toUpperCase(), path: layer.route.path, pathParams: [...layer.route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!) });
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: ExpressLayer[] } }).router.stack);
  return routes;
}

interface ExpressLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: ExpressLayer[] };
}

/** The console's routes: its pages, fragments, forms and assets. */
export function consoleRoutes(ctx: FactumContext): AppRoute[] {
  return appRoutes(ctx).filter((route) => CONSOLE_PATH.test(route.path));
}

/** The API routes that exist in the app, as operations of openapi.yaml. */
export function routedOperations(ctx: FactumContext): ApiOperation[] {
  const routed = new Set(appRoutes(ctx).map((route) => `${route.method} ${route.path}`));
  return apiOperations().filter((op) => routed.has(`${op.method} ${op.template.replace(/\{(\w+)\}/g, ':$1')}`));
}

/** Fills `{name}` or `:name` placeholders of a path with `values` (sent as given, not encoded). */
export function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}|:(\w+)/g, (_all, a: string | undefined, b: string | undefined) => values[(a ?? b)!] ?? 'x');
}

type Schema = Record<string, unknown>;
const schemas = (document as unknown as { components: { schemas: Record<string, Schema> } }).components.schemas;

/** A schema with its `$ref` followed (one level), and the name it was referred to by. */
export function resolveSchema(schema: Schema | undefined): { name?: string; schema: Schema } {
  const ref = schema?.$ref;
  if (typeof ref !== 'string') return { schema: schema ?? {} };
  const name = ref.split('/').at(-1)!;
  return { name, schema: schemas[name] ?? {} };
}

/** The schema of an operation's request body in one media type. */
export function requestSchema(op: ApiOperation, mediaType: string): { name?: string; schema: Schema } {
  const operation = document.paths[op.template]![op.method.toLowerCase()]!;
  const media = (operation.requestBody?.content[mediaType] ?? {}) as { schema?: Schema };
  return resolveSchema(media.schema);
}
