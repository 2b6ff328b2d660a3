/**
 * The request and response bodies of the HTTP API as TypeScript types, generated from
 * openapi.yaml (./generated/openapi.d.ts), so types and validation share one source.
 */
import type { components } from './generated/openapi.d.ts';

export type ApiSchemas = components['schemas'];
