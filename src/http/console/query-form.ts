/**
 * The query form: what the query API takes, as query-string parameters.
 *
 * Selectors are positional: the n-th `stream`, `event_type`, `subject`, `extension` (a name),
 * `extension_value` and `match` make up selector n, so every row of the form always sends all
 * of them (empty when unused). `match` is `equals` (the default) or `starts_with`, for every
 * value of the row.
 */
import type { Request } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';
import { componentValidator } from '../../schema/openapi.ts';
import type { QueryRequest } from '../../usecases/query-events.ts';
import { checkValues, wholeNumber, type Labels } from './form-rules.ts';

export type QueryParams = Request['query'];

interface SelectorRow {
  stream: string;
  event_type: string;
  subject: string;
  extension: string;
  extension_value: string;
  match: 'equals' | 'starts_with';
}

export interface QueryForm {
  rows: SelectorRow[];
  revision_start: string;
  revision_end: string;
  time_start: string;
  time_end: string;
  direction: string;
  limit: string;
}

const DEFAULT_PAGE_LIMIT = 50;
const QUERY_KEYS = ['stream', 'event_type', 'subject', 'extension', 'extension_value', 'match', 'revision_start', 'revision_end', 'time_start', 'time_end', 'direction', 'limit', 'cursor'];
const SELECTOR_FIELDS = ['stream', 'event_type', 'subject'] as const;
const ROW_FIELDS = [...SELECTOR_FIELDS, 'extension', 'extension_value', 'match'] as const;

/** Where each field of the form goes in a query request, by the label the form shows. */
const QUERY_LABELS: Labels = {
  limit: 'Limit',
  direction: 'Order',
  'revision_range.start': 'Revision from',
  'revision_range.end': 'Revision to',
  'effective_time_range.start': 'Effective time from',
  'effective_time_range.end': 'Effective time to',
};

function values(query: QueryParams, key: string): string[] {
  const value = query[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => String(v).trim());
}

export function firstValue(query: QueryParams, key: string): string {
  return values(query, key)[0] ?? '';
}

export function hasQuery(query: QueryParams): boolean {
  return QUERY_KEYS.some((key) => query[key] !== undefined);
}

const emptyRow = (): SelectorRow => ({ stream: '', event_type: '', subject: '', extension: '', extension_value: '', match: 'equals' });
const isBlankRow = (row: SelectorRow) => !row.stream && !row.event_type && !row.subject && !row.extension && !row.extension_value;

export function emptyQueryForm(): QueryForm {
  return { rows: [emptyRow()], revision_start: '', revision_end: '', time_start: '', time_end: '', direction: 'forward', limit: String(DEFAULT_PAGE_LIMIT) };
}

export function readQueryForm(query: QueryParams): QueryForm {
  const columns = ROW_FIELDS.map((key) => values(query, key));
  const count = Math.max(...columns.map((c) => c.length), 1);
  const [streams, types, subjects, names, extensionValues, matches] = columns as [string[], string[], string[], string[], string[], string[]];
  const rows = Array.from({ length: count }, (_, i): SelectorRow => ({
    stream: streams[i] ?? '',
    event_type: types[i] ?? '',
    subject: subjects[i] ?? '',
    extension: names[i] ?? '',
    extension_value: extensionValues[i] ?? '',
    match: matches[i] === 'starts_with' ? 'starts_with' : 'equals',
  }));
  return {
    rows,
    revision_start: firstValue(query, 'revision_start'),
    revision_end: firstValue(query, 'revision_end'),
    time_start: firstValue(query, 'time_start'),
    time_end: firstValue(query, 'time_end'),
    direction: firstValue(query, 'direction') || 'forward',
    limit: firstValue(query, 'limit') || String(DEFAULT_PAGE_LIMIT),
  };
}

/** The form after its "Add selector" or "Remove" button, and whether one was pressed. */
export function applySelectorEdits(form: QueryForm, query: QueryParams): { form: QueryForm; edited: boolean; added: boolean } {
  const added = query.add_selector !== undefined;
  const remove = firstValue(query, 'remove_selector');
  let rows = form.rows;
  if (/^\d+$/.test(remove)) {
    rows = rows.filter((_, i) => i !== Number(remove));
    if (rows.length === 0) rows = [emptyRow()];
  }
  if (added) rows = [...rows, emptyRow()];
  return { form: { ...form, rows }, edited: added || remove !== '', added };
}

/** The page URL's query string for a form: only what was filled in, in a stable order. */
export function canonicalQuery(form: QueryForm): string {
  const params = new URLSearchParams();
  const rows = form.rows.filter((row) => !isBlankRow(row));
  const used = (row: SelectorRow, key: (typeof ROW_FIELDS)[number]) => (key === 'match' ? row.match !== 'equals' : row[key] !== '');
  // Only the fields some row uses (the default match counts as unused)...
  const columns = ROW_FIELDS.filter((key) => SELECTOR_FIELDS.includes(key as (typeof SELECTOR_FIELDS)[number]) || rows.some((row) => used(row, key)));
  for (const row of rows) {
    for (const key of columns) {
      // ...and with one selector only its own; with several, positions must line up.
      if (used(row, key) || rows.length > 1) params.append(key, row[key]);
    }
  }
  for (const key of ['revision_start', 'revision_end', 'time_start', 'time_end'] as const) {
    if (form[key]) params.set(key, form[key]);
  }
  params.set('direction', form.direction);
  params.set('limit', form.limit);
  return params.toString();
}

const validQueryRequest = componentValidator('QueryRequest');

/**
 * The form as a query request. It is checked by the same schema the JSON API checks, so the
 * page never asks for what the API would refuse; messages name the form's fields.
 */
export function toQueryRequest(form: QueryForm, cursor: string | undefined): QueryRequest {
  const request: Record<string, unknown> = { direction: form.direction, limit: wholeNumber(form.limit) };
  const selectors = form.rows.filter((row) => !isBlankRow(row)).map(rowSelector);
  if (selectors.length > 0) request.selectors = selectors;
  const revisions = range(form.revision_start, form.revision_end, wholeNumber);
  if (revisions) request.revision_range = revisions;
  const times = range(form.time_start, form.time_end, (text) => text);
  if (times) request.effective_time_range = times;
  if (cursor !== undefined) request.cursor = cursor;
  checkValues(validQueryRequest, request, QUERY_LABELS);
  return request as QueryRequest;
}

/**
 * One row as a selector: equalities in the query form (an extension under `extensions`), or,
 * matching by prefix, a tree of starts_with leaves AND-ed. An extension name with no value
 * means, by prefix, "has this extension".
 */
function rowSelector(row: SelectorRow): Record<string, unknown> {
  const filled = SELECTOR_FIELDS.filter((key) => row[key] !== '');
  const extension = row.extension !== '' || row.extension_value !== '';
  if (extension && row.extension === '') {
    throw new InvalidArgumentError('Extension needs a name for its value (such as course)', { field: 'extension' });
  }
  if (row.match === 'starts_with') {
    const leaves: Array<Record<string, unknown>> = filled.map((key) => ({ type: 'starts_with', attr: { [key]: row[key] } }));
    if (extension) leaves.push({ type: 'starts_with', attr: { extension: { name: row.extension, value: row.extension_value } } });
    return leaves.length === 1 ? leaves[0]! : { type: 'and', selectors: leaves };
  }
  if (extension && row.extension_value === '') {
    throw new InvalidArgumentError(`Extension value is required to match ${row.extension} exactly; match by prefix to find every event that has it`, { field: 'extension_value' });
  }
  const selector: Record<string, unknown> = Object.fromEntries(filled.map((key) => [key, row[key]]));
  if (extension) selector.extensions = { [row.extension]: row.extension_value };
  return selector;
}

/** A range of the ends that were filled in; none when neither was. */
function range(start: string, end: string, convert: (text: string) => unknown): Record<string, unknown> | undefined {
  if (start === '' && end === '') return undefined;
  return { ...(start !== '' && { start: convert(start) }), ...(end !== '' && { end: convert(end) }) };
}
