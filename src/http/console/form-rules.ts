/**
 * How the console's forms are checked and their errors shown. The rules are openapi.yaml's, as
 * the API applies them; only the words are the form's: messages name the labels the form shows.
 */
import type { ValidateFunction } from 'ajv';
import { InvalidArgumentError, type ErrorDetails } from '../../core/errors.ts';
import { describeSchemaError } from '../../schema/openapi.ts';
import { assertJsonNesting } from '../json-nesting.ts';

/** Request field path → the label of the form field that fills it. */
export type Labels = Record<string, string>;

/** A refused form's message, and the field it belongs to (to mark it and show it there). */
export interface FormProblem {
  error?: string;
  errorField?: string;
}

/**
 * Checks typed-in values (numbers, times, choices) with their compiled schema; the first
 * problem names the field's label and says what the field takes, from the schema itself:
 * `Limit must be a whole number from 1 to 10000`. Parameter validators convert text to
 * numbers as they check.
 */
export function checkValues(validate: ValidateFunction, values: object, labels: Labels): void {
  if (validate(values)) return;
  const error = validate.errors![0]!;
  const { message, details } = describeSchemaError(error, '');
  const path = String(details.field);
  const rule = ruleOf(error.parentSchema);
  throw new InvalidArgumentError(labels[path] && rule ? `${labels[path]} must be ${rule}` : labelled(message, path, labels), details);
}

/** What a value of a schema is, in words; for the schemas of single typed-in values. */
function ruleOf(schema: unknown): string | undefined {
  const { type, minimum, maximum, format, enum: choices } = (schema ?? {}) as { type?: unknown; minimum?: number; maximum?: number; format?: string; enum?: unknown[] };
  if (type === 'integer') {
    if (minimum !== undefined && maximum !== undefined) return `a whole number from ${minimum} to ${maximum}`;
    return minimum !== undefined ? `a whole number of ${minimum} or more` : 'a whole number';
  }
  if (format === 'date-time') return 'an RFC 3339 timestamp such as 2024-01-15T10:30:00Z';
  if (Array.isArray(choices) && choices.length > 0) return choices.length === 1 ? String(choices[0]) : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
  return undefined;
}

/** A whole number as typed: the number when it is one, else the text, for the schema to refuse. */
export function wholeNumber(text: string): number | string {
  const n = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(n) ? n : text;
}

/**
 * An error as a form shows it: messages that start with a request path (`state_view_name is
 * invalid…`) name the form's label instead, and the field is marked. Errors that name no field
 * of the form belong to `fallbackField` (past the form checks, what is left to refuse is the file).
 */
export function formProblem(failure: { message: string; details: ErrorDetails }, labels: Labels, fallbackField?: string): FormProblem {
  const field = formField(failure.details);
  if (field === undefined || !(field in labels)) return { error: failure.message, errorField: fallbackField };
  return { error: labelled(failure.message, String(failure.details.field), labels), errorField: field };
}

/** The form field an error is about: the first segment of its `field` path. */
function formField(details: ErrorDetails): string | undefined {
  return typeof details.field === 'string' ? /^[a-z_]+/.exec(details.field)?.[0] : undefined;
}

/** `state_views[0].name must be…` as `State views read ([0].name) must be…`. */
function labelled(message: string, path: string, labels: Labels): string {
  if (!message.startsWith(`${path} `)) return message;
  if (labels[path]) return `${labels[path]}${message.slice(path.length)}`;
  const field = /^[a-z_]+/.exec(path)?.[0];
  if (field === undefined || !(field in labels)) return message;
  const inner = path.slice(field.length).replace(/^\./, '');
  return `${labels[field]}${inner ? ` (${inner})` : ''}${message.slice(path.length)}`;
}

export function requireText(value: string, field: string, labels: Labels): string {
  if (value.trim() === '') throw new InvalidArgumentError(`${labels[field]} is required`, { field });
  return value.trim();
}

/** A form field that holds a JSON document, parsed and held to the API's nesting limit. */
export function jsonField(value: string, field: string, labels: Labels): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`${labels[field]} is not valid JSON: ${(error as Error).message}`, { field });
  }
  assertJsonNesting(parsed, field, labels[field]);
  return parsed;
}
