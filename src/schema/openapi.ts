/**
 * openapi.yaml is the only place request schemas live. This module loads it once and compiles,
 * per operation, validators for the request body (by content type) and for path and query
 * parameters, and for any named schema, so that the HTTP layer, the console and the use cases
 * (which check what components decide) all apply the very same rules.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { PERMISSIONS, type Requirement } from '../core/access.ts';
import { InvalidArgumentError } from '../core/errors.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext resolution.
type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
export const openapiText = readFileSync(OPENAPI_PATH, 'utf8');

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: unknown;
  $ref?: string;
}

interface Operation {
  operationId: string;
  'x-permission'?: string;
  'x-database'?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
}

export interface OperationValidators {
  operationId: string;
  method: string;
  /** The path template, such as `/databases/{database}/events`. */
  path: string;
  /** What a caller needs (`x-permission`); every operation says, or the server does not start. */
  requirement: Requirement;
  /**
   * `*` (`x-database`) when the operation acts on the server as a whole, so only a key for every
   * database may call it; otherwise the operation's `database` parameter, if it has one, is the
   * database the key must reach.
   */
  database: '*' | 'parameter' | 'none';
  /** Validators for the body by media type. */
  body: Map<string, ValidateFunction>;
  bodyRequired: boolean;
  params: ValidateFunction | undefined;
  query: ValidateFunction | undefined;
}

const document = parse(openapiText) as {
  paths: Record<string, Record<string, Operation> & { parameters?: Parameter[] }>;
  components: { parameters: Record<string, Parameter>; schemas?: Record<string, Record<string, unknown>> };
};

function newAjv(options: { coerceTypes: boolean }) {
  const ajv = new Ajv2020({ allErrors: false, strict: false, verbose: true, useDefaults: true, coerceTypes: options.coerceTypes });
  addFormats(ajv);
  ajv.addSchema(document as object, 'openapi.yaml');
  return ajv;
}

// Bodies are JSON and must already have the right types; parameters arrive as strings.
const bodyAjv = newAjv({ coerceTypes: false });
const paramAjv = newAjv({ coerceTypes: true });

/** Rewrites `#/components/...` refs so they resolve inside the added document. */
function rooted(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) =>
    key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `openapi.yaml${value}` : value,
  );
}

function resolveParameter(p: Parameter): Parameter {
  if (!p.$ref) return p;
  const name = p.$ref.replace('#/components/parameters/', '');
  return document.components.parameters[name]!;
}

function parametersSchema(params: Parameter[], location: 'path' | 'query'): object | undefined {
  const relevant = params.filter((p) => p.in === location);
  if (relevant.length === 0) return undefined;
  return {
    type: 'object',
    properties: Object.fromEntries(relevant.map((p) => [p.name, rooted(p.schema)])),
    required: relevant.filter((p) => p.required).map((p) => p.name),
  };
}

function compileOperations(): Map<string, OperationValidators> {
  const operations = new Map<string, OperationValidators>();
  for (const [path, pathItem] of Object.entries(document.paths)) {
    const shared = (pathItem.parameters ?? []).map(resolveParameter);
    for (const [method, operation] of Object.entries(pathItem)) {
      if (method === 'parameters' || !operation || typeof operation !== 'object' || !('operationId' in operation)) continue;
      const op = operation as Operation;
      const params = [...shared, ...(op.parameters ?? []).map(resolveParameter)];
      const pathSchema = parametersSchema(params, 'path');
      const querySchema = parametersSchema(params, 'query');
      const body = new Map<string, ValidateFunction>();
      for (const [mediaType, media] of Object.entries(op.requestBody?.content ?? {})) {
        body.set(mediaType, bodyAjv.compile(rooted(media.schema) as object));
      }
      operations.set(op.operationId, {
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        requirement: requirementOf(op),
        database: op['x-database'] === '*' ? '*' : params.some((p) => p.in === 'path' && p.name === 'database') ? 'parameter' : 'none',
        body,
        bodyRequired: op.requestBody?.required ?? false,
        params: pathSchema && paramAjv.compile(pathSchema),
        query: querySchema && paramAjv.compile(querySchema),
      });
    }
  }
  return operations;
}

function requirementOf(op: Operation): Requirement {
  const requirement = op['x-permission'];
  if (requirement !== 'public' && !(PERMISSIONS as readonly string[]).includes(requirement ?? '')) {
    // Fail closed: an operation that does not say who may call it is a mistake in this document.
    throw new Error(`openapi.yaml: operation ${op.operationId} needs x-permission (public or one of ${PERMISSIONS.join(', ')})`);
  }
  return requirement as Requirement;
}

export const operations = compileOperations();

const componentValidators = new Map<string, ValidateFunction>();

/** The compiled validator of one named schema of components/schemas (compiled once). */
export function componentValidator(name: string): ValidateFunction {
  let validator = componentValidators.get(name);
  if (!validator) {
    if (!document.components.schemas?.[name]) throw new Error(`openapi.yaml has no schema ${name}`);
    validator = bodyAjv.compile({ $ref: `openapi.yaml#/components/schemas/${name}` });
    componentValidators.set(name, validator);
  }
  return validator;
}

/** A named schema as written in openapi.yaml (for rules shown to users, e.g. an HTML pattern). */
export function componentSchema(name: string): Record<string, unknown> {
  const schema = document.components.schemas?.[name];
  if (!schema) throw new Error(`openapi.yaml has no schema ${name}`);
  return schema;
}

/**
 * Checks `value` against the named schema (filling in its defaults) and throws an
 * InvalidArgumentError describing the first problem, with field paths under `root`.
 */
export function assertSchema<T>(name: string, value: unknown, root = ''): asserts value is T {
  const validator = componentValidator(name);
  if (!validator(value)) throw schemaError(validator.errors![0]!, root);
}

/** The InvalidArgumentError for a schema error, with the field path under `root`. */
export function schemaError(error: ErrorObject, root = ''): InvalidArgumentError {
  const { message, details } = describeSchemaError(error, root);
  return new InvalidArgumentError(message, details);
}

/**
 * Describes the first schema error in request terms: `/events/2/time` becomes `events[2].time`,
 * and the event index is given separately for transactions.
 */
export function describeSchemaError(error: ErrorObject, root: string): { message: string; details: Record<string, unknown> } {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  // A bad attribute name is reported on the object, naming the property separately.
  const badName = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (badName !== undefined) segments.push(badName);
  let field = root;
  for (const s of segments) field = /^\d+$/.test(s) ? `${field}[${s}]` : field ? `${field}.${s}` : s;
  const details: Record<string, unknown> = { field: field || root || '(body)' };
  const eventIndex = segments[0] === 'events' && /^\d+$/.test(segments[1] ?? '') ? Number(segments[1]) : root === '' && /^\d+$/.test(segments[0] ?? '') ? Number(segments[0]) : undefined;
  if (eventIndex !== undefined) details.index = eventIndex;
  let reason: string;
  switch (badName !== undefined ? 'propertyNames' : error.keyword) {
    case 'required':
      reason = 'is required';
      break;
    case 'additionalProperties':
      reason = 'is not allowed here';
      break;
    case 'propertyNames':
      reason = 'is not a valid attribute name (lowercase letters and digits only)';
      break;
    case 'const':
      reason = `must be ${JSON.stringify(error.params.allowedValue)}`;
      break;
    case 'enum':
      reason = `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'minProperties':
    case 'maxProperties':
      reason = `must have ${error.keyword === 'minProperties' ? 'at least' : 'at most'} ${String(error.params.limit)} ${error.params.limit === 1 ? 'property' : 'properties'}`;
      break;
    case 'pattern': {
      // Patterns are unreadable to users; the schema's description says the rule in words.
      const description = (error.parentSchema as { description?: string } | undefined)?.description;
      reason = description ? `is invalid: ${description}` : `must match ${String(error.params.pattern)}`;
      if (typeof error.data === 'string') details.value = error.data.slice(0, 100);
      break;
    }
    case 'oneOf':
    case 'anyOf':
      reason = 'does not match any allowed form';
      break;
    default:
      reason = error.message ?? 'is invalid';
  }
  // A rule in words (`x-rule` beside the keyword in openapi.yaml) says what to send instead.
  const rule = (error.parentSchema as { 'x-rule'?: string } | undefined)?.['x-rule'];
  if (rule && error.keyword !== 'pattern') reason = `${reason}: ${rule}`;
  return { message: `${details.field} ${reason}`, details: { ...details, reason: error.keyword } };
}
