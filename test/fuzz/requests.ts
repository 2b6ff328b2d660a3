/**
 * Whole hostile requests: for an operation of openapi.yaml, for a console route, and requests
 * broken below HTTP's semantics (request line, headers, framing), sent as raw bytes.
 */
import fc from 'fast-check';
import type { RawRequest } from './raw-http.ts';
import { fillPath, requestSchema, type ApiOperation, type AppRoute } from './routes.ts';
import { formPayload, jsonPayload, maybeChunked, multipartPayload, otherPayload, type Payload } from './payloads.ts';
import { FUZZ_DB, hostileSegment, oddHeaders, pathValue, queryString, type Header } from './values.ts';

export interface FuzzRequest {
  /**
   * Whose rules an error answer follows: the API's error shape, the console's HTML, the HTTP
   * parser's, or JSON-RPC's (the MCP transport answers its errors as JSON-RPC errors).
   */
  surface: 'api' | 'console' | 'protocol' | 'json-rpc';
  /** The process route answers errors with `success: false` beside `error`. */
  processRoute: boolean;
  request: RawRequest | Buffer;
  label: string;
}

/** A route that deletes what its last path parameter names. */
const isDestructive = (method: string, path: string) => method === 'DELETE' || /\/delete$/.test(path);

const isJsonType = (mediaType: string) => /^application\/(?:[\w.-]+\+)?json$/.test(mediaType);

/** Path parameter values for a route: each valid, absent or hostile. */
function pathValues(template: string, params: string[], destructive: boolean): fc.Arbitrary<Record<string, string>> {
  const record: Record<string, fc.Arbitrary<string>> = {};
  params.forEach((param, i) => (record[param] = pathValue(param, template, destructive && i === params.length - 1)));
  return fc.record(record);
}

/** A path as sent: the route's, or with a trick that changes how it matches. */
const pathTrick = fc.constantFrom('', '', '', '', '/', '//', '/.', '/..', '/%2e', '#frag', '/x');

/** The body for an operation, by the media types it takes (and, now and then, one it does not). */
function operationPayload(op: ApiOperation): fc.Arbitrary<Payload> {
  const own = op.mediaTypes.map((mediaType): fc.Arbitrary<Payload> => {
    if (mediaType === 'multipart/form-data') return multipartPayload;
    const { name, schema } = requestSchema(op, mediaType);
    const items = (schema.items as { $ref?: string } | undefined)?.$ref;
    const keys = Object.keys((schema.properties as object | undefined) ?? {});
    return isJsonType(mediaType) ? jsonPayload(mediaType, name ?? items?.split('/').at(-1), keys) : otherPayload;
  });
  const foreign = fc.oneof(otherPayload, formPayload, jsonPayload('application/json', undefined, []));
  if (own.length === 0) return fc.oneof({ arbitrary: otherPayload, weight: 5 }, { arbitrary: foreign, weight: 1 });
  return maybeChunked(fc.oneof({ arbitrary: fc.oneof(...own), weight: 6 }, { arbitrary: foreign, weight: 1 }));
}

/** Sends the payload's body as one chunk and an end chunk. */
function framed(payload: Payload): { headers: Header[]; body: Buffer; noContentLength: boolean } {
  if (!payload.chunked) return { headers: payload.headers, body: payload.body, noContentLength: false };
  const body = Buffer.concat([Buffer.from(`${payload.body.length.toString(16)}\r\n`), payload.body, Buffer.from('\r\n0\r\n\r\n')]);
  return { headers: [...payload.headers, ['Transfer-Encoding', 'chunked']], body, noContentLength: true };
}

function assemble(surface: FuzzRequest['surface'], method: string, target: string, payload: Payload, headers: Header[], processRoute: boolean): FuzzRequest {
  const { headers: bodyHeaders, body, noContentLength } = framed(payload);
  const request: RawRequest = { method, target, headers: [...bodyHeaders, ...headers], body, noContentLength };
  const label = `${method} ${target.length > 160 ? `${target.slice(0, 160)}…(${target.length})` : target} [${headers.map(([n]) => n).join(', ')}] ${payload.label}`;
  return { surface, processRoute, request, label };
}

export function operationRequest(op: ApiOperation): fc.Arbitrary<FuzzRequest> {
  const destructive = isDestructive(op.method, op.template);
  const processRoute = op.template.endsWith('/state-changes/{name}/process');
  return fc
    .tuple(pathValues(op.template, op.pathParams, destructive), pathTrick, queryString(op.queryParams), operationPayload(op), oddHeaders)
    .map(([values, trick, query, payload, headers]) =>
      // A trailing slash or a fragment still reaches the route; other tricks miss it.
      assemble(op.tags.includes('mcp') ? 'json-rpc' : 'api', op.method, `${fillPath(op.template, values)}${trick}${query}`, payload, headers, processRoute && ['', '/', '#frag'].includes(trick)),
    );
}

export function consoleRequest(route: AppRoute): fc.Arbitrary<FuzzRequest> {
  const destructive = isDestructive(route.method, route.path);
  // The console's forms are url-encoded or multipart; which one a route reads, it says by failing.
  const payload = route.method === 'GET' ? fc.oneof({ arbitrary: otherPayload, weight: 6 }, { arbitrary: formPayload, weight: 1 }) : maybeChunked(fc.oneof(formPayload, formPayload, multipartPayload, otherPayload));
  return fc
    .tuple(pathValues(route.path, route.pathParams, destructive), queryString([]), payload, oddHeaders)
    .map(([values, query, body, headers]) => assemble('console', route.method, `${fillPath(route.path, values)}${query}`, body, headers, false));
}

/** Requests below the API: broken request lines, headers and framing, as bytes. */
export const protocolRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'get', 'G@T', 'FOO', 'PRI', 'CONNECT', ''),
    fc.oneof(
      fc.constantFrom('/databases', `/databases/${FUZZ_DB}/events`, `/databases/${FUZZ_DB}/query`, '*', 'http://localhost/databases', 'localhost:80', '', '/data bases', '/databases\0', '/d\u00e4tabases', '/databases\t', `/${'a'.repeat(20_000)}`),
      hostileSegment.map((segment) => `/databases/${segment}`),
    ),
    fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 extra', ''),
    fc.constantFrom<Header[]>(
      [],
      [['Content-Length', '2'], ['Content-Length', '3']],
      [['Content-Length', '-1']],
      [['Content-Length', '1x']],
      [['Content-Length', '99999999999999999999']],
      [['Transfer-Encoding', 'chunked'], ['Content-Length', '5']],
      [['Transfer-Encoding', 'gzip, chunked']],
      [['Transfer-Encoding', 'bogus']],
      [['Expect', 'bogus']],
      [['Expect', '100-continue']],
      [['X-Nul', 'a\0b']],
      [['Bad Name', 'x']],
      [['X-Folded', 'a\r\n b']],
      [['X-Big', 'b'.repeat(20 * 1024)]],
      [['X-Big', 'b'.repeat(70 * 1024)]],
      [['Host', 'a'], ['Host', 'b']],
      [['Content-Type', 'application/json'], ['Content-Type', 'text/plain']],
    ),
    fc.constantFrom('', '{}', 'zz\r\n{}\r\n0\r\n\r\n', '2\r\n{}\r\n0\r\n\r\n', '5;ext=x\r\nhello\r\n0\r\n\r\n', 'ffffffffffffffffff\r\n', '{"name":"fz-proto"}', '\r\n\r\nGET / HTTP/1.1\r\n\r\n'),
    fc.constantFrom('\r\n', '\r\n', '\n'),
  )
  .map(([method, target, version, headers, body, eol]) => {
    const lines = [`${method} ${target} ${version}`.trimEnd(), 'Host: localhost', ...headers.map(([n, v]) => `${n}: ${v}`), 'Connection: close'];
    const bytes = Buffer.from(`${lines.join(eol)}${eol}${eol}${body}`, 'latin1');
    const label = `raw ${JSON.stringify(`${method} ${target.slice(0, 60)} ${version}`)} [${headers.map(([n, v]) => `${n}: ${v.slice(0, 20)}`).join('; ')}] body ${JSON.stringify(body.slice(0, 40))} eol ${JSON.stringify(eol)}`;
    return { surface: 'protocol' as const, processRoute: false, request: bytes, label };
  });

/** Gives a request the label fast-check prints for it, instead of its whole body. */
export function labelled(arb: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<FuzzRequest> {
  return arb.map((request) => Object.assign(request, { [fc.toStringMethod]: () => request.label }));
}
