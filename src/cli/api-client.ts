/**
 * The few HTTP calls export and import make, over the public API only (so they work the same
 * against any storage). Server errors keep their code and details; a connection that fails or
 * a server that asks to come back later (503, 409 ABORTED) is tried again a few times, for
 * requests that are safe to repeat.
 */
import { CommandError } from './failure.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ApiClient {
  baseUrl: string;
  /** The response of a request that succeeded (2xx); ApiError otherwise. */
  send(method: string, path: string, body?: BodyInit, headers?: Record<string, string>): Promise<Response>;
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Tries of a request the server asked to send again (503, ABORTED), and of one that found no server (a restart, a network blip). */
const ATTEMPTS = 6;
const CONNECTION_ATTEMPTS = 4;

/** `apiKey`: sent as `Authorization: Bearer`, for a server that has keys. */
export function apiClient(url: string, apiKey?: string): ApiClient {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new CommandError(`--url must be the server's address, e.g. http://127.0.0.1:8080, not "${url}"`, 2);
  }
  const baseUrl = base.href.replace(/\/+$/, '');
  const send = async (method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<Response> => {
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(baseUrl + path, { method, body, headers: apiKey ? { authorization: `Bearer ${apiKey}`, ...headers } : headers });
      } catch (error) {
        if (attempt < CONNECTION_ATTEMPTS) {
          await pause(attempt);
          continue;
        }
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new CommandError(`cannot reach ${baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
      }
      if (response.ok) return response;
      const failure = await apiError(response);
      if ((failure.status === 503 || failure.code === 'ABORTED') && attempt < ATTEMPTS) {
        await pause(attempt, Number(response.headers.get('retry-after')) * 1000 || undefined);
        continue;
      }
      throw failure;
    }
  };
  return {
    baseUrl,
    send,
    json: async <T>(method: string, path: string, body?: unknown) => {
      const response = await send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? {} : { 'content-type': 'application/json' });
      return (await response.json()) as T;
    },
  };
}

async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details?: Record<string, unknown> } };
    return new ApiError(response.status, error.code, error.message, error.details ?? {});
  } catch {
    return new ApiError(response.status, 'UNKNOWN', `${response.status} ${response.statusText}: ${text.slice(0, 200)}`, {});
  }
}

function pause(attempt: number, ms = Math.min(5000, 100 * 2 ** attempt)): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const databasePath = (database: string) => `/databases/${encodeURIComponent(database)}`;
