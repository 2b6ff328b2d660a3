/**
 * The forms of state views and state changes: uploading either, rendering a view, sending a
 * command. What they send is put together here and checked against the same openapi.yaml
 * schemas the API uses.
 */
import type { Request } from 'express';
import { InvalidArgumentError } from '../../core/errors.ts';
import { assertSchema } from '../../schema/openapi.ts';
import type { ProcessRequest, StateChangeDefinition } from '../../usecases/state-changes.ts';
import type { RenderRequest, StateViewDefinition } from '../../usecases/state-views.ts';
import { RENDER_OPTIONS, renderOptionsValidator, splitRenderQuery, toRenderRequest, type RenderOption, type RenderOptions } from '../render-query.ts';
import { checkValues, jsonField, requireText, type FormProblem, type Labels } from './form-rules.ts';

// ---- uploads ---------------------------------------------------------------------------------
//
// The upload forms send the metadata as separate fields (the API takes it as one JSON part).

const VIEW_FIELDS = ['state_view_name', 'description', 'content_type', 'query_temporality', 'event_selector'] as const;
const CHANGE_FIELDS = ['state_change_name', 'description', 'state_views'] as const;

/** Field → label, so messages name what the form shows. */
export const VIEW_LABELS: Labels = {
  state_view_name: 'Name',
  description: 'Description',
  content_type: 'Content type',
  query_temporality: 'Read by',
  event_selector: 'Event selector',
  wasm: 'Component file',
};
export const CHANGE_LABELS: Labels = {
  state_change_name: 'Name',
  description: 'Description',
  state_views: 'State views read',
  wasm: 'Component file',
};

export type ViewForm = Record<(typeof VIEW_FIELDS)[number], string> & FormProblem;
export type ChangeForm = Record<(typeof CHANGE_FIELDS)[number], string> & FormProblem;

export function emptyViewForm(): ViewForm {
  return { state_view_name: '', description: '', content_type: 'application/json', query_temporality: 'revision', event_selector: '' };
}

export function emptyChangeForm(): ChangeForm {
  return { state_change_name: '', description: '', state_views: '' };
}

/** A form's text fields as far as they were read (all of them, unless reading failed). */
function textFields<F extends string>(body: unknown, fields: readonly F[]): Record<F, string> {
  const sent = (body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(fields.map((name) => [name, typeof sent[name] === 'string' ? sent[name] : ''])) as Record<F, string>;
}

export const readViewForm = (body: unknown): ViewForm => textFields(body, VIEW_FIELDS);
export const readChangeForm = (body: unknown): ChangeForm => textFields(body, CHANGE_FIELDS);

/** The component file; an empty file input still sends a part, with no name and no bytes. */
export function requireWasm(wasm: Uint8Array | undefined): Uint8Array {
  if (!wasm || wasm.byteLength === 0) throw new InvalidArgumentError('Choose the component file (.wasm)', { field: 'wasm' });
  return wasm;
}

export function toViewDefinition(form: ViewForm): StateViewDefinition {
  const metadata: Record<string, unknown> = {
    state_view_name: requireText(form.state_view_name, 'state_view_name', VIEW_LABELS),
    content_type: requireText(form.content_type, 'content_type', VIEW_LABELS),
    query_temporality: form.query_temporality,
    event_selector: jsonField(requireText(form.event_selector, 'event_selector', VIEW_LABELS), 'event_selector', VIEW_LABELS),
  };
  if (form.description.trim() !== '') metadata.description = form.description.trim();
  assertSchema<StateViewDefinition>('StateViewMetadata', metadata);
  return metadata;
}

export function toChangeDefinition(form: ChangeForm): StateChangeDefinition {
  const metadata: Record<string, unknown> = { state_change_name: requireText(form.state_change_name, 'state_change_name', CHANGE_LABELS) };
  if (form.description.trim() !== '') metadata.description = form.description.trim();
  if (form.state_views.trim() !== '') metadata.state_views = jsonField(form.state_views, 'state_views', CHANGE_LABELS);
  assertSchema<StateChangeDefinition>('StateChangeMetadata', metadata);
  return metadata;
}

// ---- rendering a state view -------------------------------------------------------------------

/** The render form as typed: the view's parameters and what to render at. */
export type RenderValues = Record<RenderOption, string> & { params: Record<string, string> };

const RENDER_LABELS: Labels = { revision: 'Revision', effective_time: 'Effective time', version: 'Version' };

export function emptyRenderValues(): RenderValues {
  return { params: {}, revision: '', effective_time: '', version: '' };
}

export function readRenderValues(query: Request['query']): RenderValues {
  const { options, params } = splitRenderQuery(query);
  const values = { ...emptyRenderValues(), params };
  for (const option of RENDER_OPTIONS) values[option] = options[option]?.trim() ?? '';
  return values;
}

/** The options that were filled in, checked (and made numbers) by the API's own rules. */
export function renderRequest(values: RenderValues): RenderRequest {
  const options: Record<string, string> = {};
  for (const option of RENDER_OPTIONS) if (values[option] !== '') options[option] = values[option];
  checkValues(renderOptionsValidator, options, RENDER_LABELS);
  return toRenderRequest(options as RenderOptions, values.params);
}

// ---- sending a command -----------------------------------------------------------------------

export interface CommandValues {
  command: string;
  parameters: string;
  dry_run: boolean;
}

export const COMMAND_LABELS: Labels = { command: 'Command', parameters: 'Parameters' };

export function emptyCommandForm(): CommandValues {
  return { command: '', parameters: '', dry_run: false };
}

export function readCommandForm(body: unknown): CommandValues {
  const { command, parameters, dry_run } = textFields(body, ['command', 'parameters', 'dry_run']);
  return { command, parameters, dry_run: dry_run === 'true' };
}

export function toProcessRequest(values: CommandValues): ProcessRequest {
  const request: Record<string, unknown> = {
    command: jsonField(requireText(values.command, 'command', COMMAND_LABELS), 'command', COMMAND_LABELS),
  };
  if (values.parameters.trim() !== '') request.parameters = jsonField(values.parameters, 'parameters', COMMAND_LABELS);
  assertSchema<Omit<ProcessRequest, 'dryRun'>>('ProcessCommandRequest', request);
  return { ...request, dryRun: values.dry_run };
}
