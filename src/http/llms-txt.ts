/**
 * `/llms.txt`: the API told briefly, for agents and other programs, in the llms.txt convention
 * (Markdown, a title, a one-line summary, then sections). Everything in it is read from
 * openapi.yaml, so it says what the server does and cannot drift from it: operations with their
 * permission, request and answer shapes, and the error table.
 */
import { parse } from 'yaml';
import { openapiText } from '../schema/openapi.ts';

type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  summary?: string;
  'x-permission': string;
  'x-database'?: string;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema: Schema }>; $ref?: string }>;
}

const document = parse(openapiText) as {
  info: { title: string; summary: string; description: string };
  paths: Record<string, Record<string, Operation | unknown>>;
  components: { schemas: Record<string, Schema> };
};

const METHODS = ['get', 'post', 'put', 'delete'];

/** A schema as a short TypeScript-like shape; named schemas stay names (listed under Shapes). */
function shape(schema: Schema | undefined, refs: Set<string>, depth = 0): string {
  if (!schema) return 'unknown';
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop()!;
    refs.add(name);
    return name;
  }
  for (const union of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[union])) return (schema[union] as Schema[]).map((s) => shape(s, refs, depth)).join(' | ');
  }
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  const parts = types.map((type) => {
    if (type === 'array') return `${shape(schema.items as Schema, refs, depth + 1)}[]`;
    if (type === 'object' || (type === undefined && schema.properties)) {
      const properties = Object.entries((schema.properties ?? {}) as Record<string, Schema>);
      if (properties.length === 0) return 'object';
      if (depth > 2) return '{…}';
      const required = new Set((schema.required ?? []) as string[]);
      return `{ ${properties.map(([name, property]) => `${name}${required.has(name) ? '' : '?'}: ${shape(property, refs, depth + 1)}`).join(', ')} }`;
    }
    return type ?? 'unknown';
  });
  return parts.join(' | ');
}

function operationLines(refs: Set<string>): string[] {
  const lines: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const needs = op['x-permission'] === 'public' ? 'no key' : `${op['x-permission']}${op['x-database'] === '*' ? ' on every database' : ''}`;
      lines.push(`### ${method.toUpperCase()} ${path}`, `${op.summary ?? op.operationId}. Needs: ${needs}.`);
      for (const [mediaType, media] of Object.entries(op.requestBody?.content ?? {})) {
        lines.push(`- request ${mediaType}: ${shape(media.schema, refs)}`);
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!status.startsWith('2')) continue;
        const content = Object.entries(response.content ?? {});
        if (content.length === 0) lines.push(`- ${status}: ${response.description ?? 'no body'}`);
        for (const [mediaType, media] of content) lines.push(`- ${status} ${mediaType}: ${shape(media.schema, refs)}`);
      }
      lines.push('');
    }
  }
  return lines;
}

function shapeLines(refs: Set<string>): string[] {
  const lines: string[] = [];
  const done = new Set<string>();
  // Shapes name further shapes; keep going until every one named is listed.
  for (let pending = [...refs]; pending.length > 0; pending = [...refs].filter((name) => !done.has(name))) {
    for (const name of pending.sort()) {
      done.add(name);
      const schema = document.components.schemas[name];
      if (schema) lines.push(`- ${name}: ${shape(schema, refs)}`);
    }
  }
  return lines;
}

/** The error table, as openapi.yaml's description gives it. */
function errorLines(): string[] {
  return document.info.description.split('\n').filter((line) => /^\|/.test(line.trim()));
}

let body: { operations: string[]; shapes: string[] } | undefined;

export function llmsTxt(baseUrl: string, options: { onboarding: boolean }): string {
  if (!body) {
    const refs = new Set<string>();
    const operations = operationLines(refs);
    body = { operations, shapes: shapeLines(refs) };
  }
  return [
    `# ${document.info.title}`,
    '',
    `> ${document.info.summary} Named databases of CloudEvents 1.0, appended in atomic transactions with dense revisions; selector queries; revision constraints; WebAssembly state views and state changes.`,
    '',
    `Base URL: ${baseUrl}`,
    `Full description: ${baseUrl}/openapi.yaml (OpenAPI 3.1)`,
    '',
    '## Authentication',
    'A server with no API keys answers anyone on its address. Once it has keys, send one with every request as `Authorization: Bearer <key>` or `X-API-Key: <key>`.',
    'No key, or an unknown, expired or revoked one: 401 UNAUTHENTICATED. A key without the permission or the database: 403 PERMISSION_DENIED.',
    'Permissions: read (databases, events, queries, state views, subscriptions), write (append, process commands), deploy (upload and delete components), admin (all of these, plus databases, imports, quotas and keys), metrics (GET /metrics).',
    '',
    '## Onboarding',
    options.onboarding
      ? 'POST /onboard with {"name": "...", "email": "..."} and no key answers 201 with a database of your own, a key for it (read, write, deploy; the `secret` is shown once) and its events quota. Then send that key with every request.'
      : 'This server does not offer onboarding: ask its operator for a key.',
    '',
    '## Errors',
    'Every error answer is {"error": {"code", "message", "details"}}; 429 and some 409 answers carry Retry-After.',
    ...errorLines(),
    '',
    '## Operations',
    '',
    ...body.operations,
    '## Shapes',
    ...body.shapes,
    '',
  ].join('\n');
}
