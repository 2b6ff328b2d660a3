/**
 * The query of a state view render, for the API and the console alike: the renderStateView
 * operation's own parameters (openapi.yaml) are its options; every other name is a view
 * parameter.
 */
import type { Request } from 'express';
import { InvalidArgumentError } from '../core/errors.ts';
import { operations } from '../schema/openapi.ts';
import type { RenderRequest } from '../usecases/state-views.ts';

export type RenderOption = 'revision' | 'effective_time' | 'version';

/** The options' rules, compiled from openapi.yaml; it converts their text to numbers. */
export const renderOptionsValidator = operations.get('renderStateView')!.query!;

/** Query parameters of a render that are not view parameters. */
export const RENDER_OPTIONS = Object.keys((renderOptionsValidator.schema as { properties: object }).properties) as RenderOption[];

/** Render options once validated. */
export interface RenderOptions {
  revision?: number;
  effective_time?: string;
  version?: number;
}

/** Splits a render's query into its options and its view parameters; a repeated name is ambiguous. */
export function splitRenderQuery(query: Request['query']): { options: Partial<Record<RenderOption, string>>; params: Record<string, string> } {
  const options: Partial<Record<RenderOption, string>> = {};
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw new InvalidArgumentError(`parameter "${name}" must be given once`, { field: name });
    if ((RENDER_OPTIONS as string[]).includes(name)) options[name as RenderOption] = value;
    else params[name] = value;
  }
  return { options, params };
}

export function toRenderRequest(options: RenderOptions, params: Record<string, string>): RenderRequest {
  return { revision: options.revision, effectiveTime: options.effective_time, version: options.version, params };
}
