/**
 * What a tool call answers. A result is both structured content and its JSON as text (for
 * clients that read only text). Every failure a use case reports (INVALID_ARGUMENT, NOT_FOUND,
 * FAILED_PRECONDITION, ABORTED, …) is a tool result with `isError: true` and the API's error
 * shape, so an agent can read it and correct itself; it is not a protocol error.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Request } from 'express';
import { ResourceExhaustedError } from '../../core/errors.ts';
import { toHttpError } from '../errors.ts';

/**
 * The largest answer of any tool, as JSON. Query pages and renders have bounds of their own
 * below this; it stops the rest (a long listing) from making the server build a huge answer.
 */
export const MAX_ANSWER_BYTES = 512 * 1024;

/** A tool's answer before it becomes a result: `isError` for a business rejection. */
export interface ToolAnswer {
  structured: object;
  isError?: true;
}

export function ok(structured: object): ToolAnswer {
  return { structured };
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** The result of an answer; one over MAX_ANSWER_BYTES is refused instead. */
export function toolResult(answer: ToolAnswer, req: Request): CallToolResult {
  const text = JSON.stringify(answer.structured);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_ANSWER_BYTES) {
    return errorResult(new ResourceExhaustedError(`the answer is ${bytes} bytes, over the limit of ${MAX_ANSWER_BYTES}; ask for less`, { bytes, limit: MAX_ANSWER_BYTES }), req);
  }
  return {
    content: [{ type: 'text', text }],
    structuredContent: answer.structured as Record<string, unknown>,
    ...(answer.isError ? { isError: true } : {}),
  };
}

/**
 * A failure as a tool result, in the API's error shape. Like the API, this logs server faults
 * (INTERNAL, and anything unexpected, whose own message is not shown) with the request's logger.
 */
export function errorResult(error: unknown, req: Request): CallToolResult {
  const { code, message, details } = toHttpError(error, req);
  const structured = { error: { code, message, details } };
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured, isError: true };
}
