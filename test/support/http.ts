/** A small client for tests that talk to a real server over HTTP. */
import { request as httpRequest } from 'node:http';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class TestClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  /**
   * Sends the path exactly as given. fetch() normalises paths the way browsers do (`/a/%2e`
   * becomes `/a/`), which would hide what a hostile client can really send.
   */
  raw(method: string, path: string, body?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.baseUrl);
      const req = httpRequest(
        { host: url.hostname, port: url.port, method, path, headers: body ? { 'content-type': 'application/json' } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headers = new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)] as [string, string]));
            let parsed: unknown = text;
            if ((res.headers['content-type'] ?? '').includes('json') && text) parsed = JSON.parse(text);
            resolve({ status: res.statusCode!, headers, body: parsed, text });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, undefined, headers);
  }
  put<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PUT', path, body, headers);
  }
}

let seq = 0;
export function cloudEvent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  seq += 1;
  return { specversion: '1.0', id: `ev-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`, source: 'order-service', type: 'OrderCreated', ...fields };
}

/** Asserts the public error shape and returns the error. */
export function errorOf(reply: Reply): { code: string; message: string; details: Record<string, any> } {
  const error = (reply.body as { error?: unknown })?.error as { code: string; message: string; details: Record<string, any> } | undefined;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || typeof error.details !== 'object') {
    throw new Error(`expected the error shape, got ${reply.status} ${reply.text.slice(0, 300)}`);
  }
  return error;
}
