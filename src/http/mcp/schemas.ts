/**
 * Tool arguments from openapi.yaml. A tool takes a few arguments that are each one of its
 * named schemas (the database name, a component name), maybe an operation's query parameters
 * (render options, `dry_run`), and maybe the properties of a request schema spread beside them
 * (QueryRequest, AppendRequest, …). Clients are shown one self-contained JSON Schema (every
 * `$ref` resolved into `$defs`); arguments are checked with the validators the HTTP API
 * compiles from the same document, so both apply the very same rules.
 */
import { InvalidArgumentError } from '../../core/errors.ts';
import { assertSchema, componentSchema, operations, schemaError } from '../../schema/openapi.ts';

export type JsonSchema = Record<string, unknown>;

/** One argument: what clients are shown, and the check that applies it. */
export interface Argument {
  /** May refer to openapi.yaml's schemas as `#/components/schemas/<name>`. */
  schema: JsonSchema;
  check(value: unknown, field: string): void;
}

export interface ArgumentsSpec {
  required?: Record<string, Argument>;
  optional?: Record<string, Argument>;
  /** The operationId whose query parameters are arguments too. */
  queryOf?: string;
  /** The name of a request schema (an object) whose properties are arguments too. */
  body?: string;
}

/** Arguments once checked, split the way the use cases take them. */
export interface ReadArguments {
  named: Record<string, unknown>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
}

export interface ToolArguments {
  /** The tool's input schema, self-contained. */
  inputSchema: JsonSchema & { type: 'object' };
  /** Checks the arguments (filling in the schemas' defaults) and splits them. */
  read(args: Record<string, unknown>): ReadArguments;
}

const COMPONENT_REF = /^(?:openapi\.yaml)?#\/components\/schemas\/([^/]+)$/;

/** An argument that is the openapi.yaml schema of that name, described for the tool. */
export function named(schemaName: string, description?: string): Argument {
  componentSchema(schemaName);
  return {
    schema: { $ref: `#/components/schemas/${schemaName}`, ...(description ? { description } : {}) },
    check: (value, field) => assertSchema(schemaName, value, field),
  };
}

/** An argument that is an object of named values: names and values each an openapi.yaml schema. */
export function mapOf(keySchema: string, valueSchema: string, description: string): Argument {
  return {
    schema: {
      type: 'object',
      description,
      propertyNames: { $ref: `#/components/schemas/${keySchema}` },
      additionalProperties: { $ref: `#/components/schemas/${valueSchema}` },
    },
    check(value, field) {
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        throw new InvalidArgumentError(`${field} must be an object`, { field, reason: 'type' });
      }
      for (const [name, item] of Object.entries(value)) {
        assertSchema(keySchema, name, field);
        assertSchema(valueSchema, item, `${field}.${name}`);
      }
    },
  };
}

export function toolArguments(spec: ArgumentsSpec): ToolArguments {
  const required = spec.required ?? {};
  const optional = spec.optional ?? {};
  const query = spec.queryOf === undefined ? undefined : operations.get(spec.queryOf)?.query;
  if (spec.queryOf !== undefined && !query) throw new Error(`openapi.yaml has no query parameters for ${spec.queryOf}`);
  const querySchema = (query?.schema ?? {}) as { properties?: JsonSchema; required?: string[] };
  const body = spec.body === undefined ? {} : (componentSchema(spec.body) as { properties?: JsonSchema; required?: string[] });
  if (spec.body !== undefined && !body.properties) throw new Error(`openapi.yaml's ${spec.body} is not an object with properties`);

  const own = { ...required, ...optional };
  const queryNames = Object.keys(querySchema.properties ?? {});
  const bodyNames = Object.keys(body.properties ?? {});
  const all = [...Object.keys(own), ...queryNames, ...bodyNames];
  const clash = all.find((name, i) => all.indexOf(name) !== i);
  if (clash) throw new Error(`tool argument "${clash}" is given twice`);

  const requiredNames = [...Object.keys(required), ...(querySchema.required ?? []), ...(body.required ?? [])];
  const inputSchema = selfContained({
    type: 'object',
    properties: {
      ...Object.fromEntries(Object.entries(own).map(([name, argument]) => [name, argument.schema])),
      ...querySchema.properties,
      ...body.properties,
    },
    ...(requiredNames.length > 0 ? { required: requiredNames } : {}),
    additionalProperties: false,
  }) as ToolArguments['inputSchema'];

  return {
    inputSchema,
    read(args) {
      const entries = Object.entries(args);
      const isOwn = (name: string) => Object.hasOwn(own, name);
      const isQuery = (name: string) => !isOwn(name) && queryNames.includes(name);
      const stray = spec.body === undefined ? entries.find(([name]) => !isOwn(name) && !isQuery(name)) : undefined;
      if (stray) throw new InvalidArgumentError(`${stray[0]} is not allowed here`, { field: stray[0], reason: 'additionalProperties' });
      // Built as own properties (a "__proto__" argument stays an argument, refused as such).
      const pick = (keep: (name: string) => boolean) => Object.fromEntries(entries.filter(([name]) => keep(name)));
      const named = pick(isOwn);
      const queryArgs = pick(isQuery);
      const bodyArgs = pick((name) => !isOwn(name) && !isQuery(name));
      for (const [name, argument] of Object.entries(required)) {
        if (named[name] === undefined) throw new InvalidArgumentError(`${name} is required`, { field: name, reason: 'required' });
        argument.check(named[name], name);
      }
      for (const [name, argument] of Object.entries(optional)) if (named[name] !== undefined) argument.check(named[name], name);
      if (query && !query(queryArgs)) throw schemaError(query.errors![0]!);
      if (spec.body !== undefined) assertSchema(spec.body, bodyArgs);
      return { named, query: queryArgs, body: bodyArgs };
    },
  };
}

/** JSON Schema 2020-12 keywords, by what their value is. */
const SUBSCHEMA = new Set(['additionalProperties', 'propertyNames', 'items', 'contains', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema']);
const SUBSCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SUBSCHEMA_MAP = new Set(['properties', 'patternProperties', 'dependentSchemas']);
const VALUE = new Set([
  'type', 'enum', 'const', 'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'multipleOf', 'minItems', 'maxItems', 'uniqueItems', 'minContains', 'maxContains', 'minProperties', 'maxProperties', 'required',
  'dependentRequired', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'contentEncoding',
  'contentMediaType', '$comment',
]);

/**
 * The schema with every openapi.yaml schema it refers to (and those refer to, recursively:
 * selectors nest) under `$defs`, so a client needs nothing else to read it. Only JSON Schema's
 * own keywords are passed on, so a strict validator takes it: the `x-rule` extension, a rule
 * in words, joins the description; other OpenAPI extensions are dropped.
 */
export function selfContained(schema: JsonSchema): JsonSchema {
  const defs: Record<string, unknown> = {};
  const seen = new Set<string>();
  const pending: string[] = [];
  const rewrite = (node: unknown): unknown => {
    // Boolean schemas (`additionalProperties: false`) are kept as they are.
    if (!node || typeof node !== 'object' || Array.isArray(node)) return node;
    const out: JsonSchema = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref') {
        const name = COMPONENT_REF.exec(String(value))?.[1];
        if (name === undefined) throw new Error(`cannot resolve $ref ${String(value)}`);
        if (!seen.has(name)) pending.push(name);
        seen.add(name);
        out.$ref = `#/$defs/${name}`;
      } else if (SUBSCHEMA.has(key)) out[key] = rewrite(value);
      else if (SUBSCHEMA_LIST.has(key)) out[key] = (value as unknown[]).map(rewrite);
      else if (SUBSCHEMA_MAP.has(key)) out[key] = Object.fromEntries(Object.entries(value as JsonSchema).map(([name, sub]) => [name, rewrite(sub)]));
      else if (VALUE.has(key)) out[key] = value;
    }
    const rule = (node as JsonSchema)['x-rule'];
    if (typeof rule === 'string') out.description = typeof out.description === 'string' ? `${out.description} (${rule})` : rule;
    return out;
  };
  const root = rewrite(schema) as JsonSchema;
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) defs[name] = rewrite(componentSchema(name));
  return Object.keys(defs).length > 0 ? { ...root, $defs: defs } : root;
}
