/**
 * A raw HTTP/1.1 client over node:net, for requests no well-behaved client would send: the
 * bytes go out exactly as given (paths not normalised, headers duplicated, bodies that do not
 * match their framing), and what comes back is reported as it happened: an answer, a reset, a
 * connection closed without an answer, or silence.
 */
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target exactly as sent, e.g. `/databases/%ff`. */
  target: string;
  /** Sent in order, as given; Host, Content-Length and Connection are added unless present. */
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  /** Leave out the Content-Length header (for chunked bodies and framing tricks). */
  noContentLength?: boolean;
}

export interface RawReply {
  status: number;
  /** Header names lower-cased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

export type RawOutcome =
  | { kind: 'reply'; reply: RawReply; /** The server reset the connection after answering. */ resetAfter: boolean }
  | { kind: 'reset'; code: string; received: string }
  | { kind: 'closed'; received: string }
  | { kind: 'timeout'; received: string };

export function encodeRequest(request: RawRequest): Buffer {
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
  const headers = [...(request.headers ?? [])];
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', 'localhost']);
  if (!request.noContentLength && !has('content-length') && (body.length > 0 || ['POST', 'PUT', 'PATCH'].includes(request.method))) {
    headers.push(['Content-Length', String(body.length)]);
  }
  if (!has('connection')) headers.push(['Connection', 'close']);
  const head = `${request.method} ${request.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * Sends `request` (or raw bytes) and waits for the whole answer, then, when the answer says
 * `Connection: close`, for the server to close, so a reset after the answer is seen too. Event
 * streams (SSE and NDJSON) count as answered once their headers are in. `halfCloseAfterMs` ends our side when no
 * answer has begun by then, for requests that may leave the server waiting for more.
 */
export function sendRaw(port: number, request: RawRequest | Buffer, { timeoutMs = 10_000, halfCloseAfterMs = undefined as number | undefined } = {}): Promise<RawOutcome> {
  const bytes = Buffer.isBuffer(request) ? request : encodeRequest(request);
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let received = Buffer.alloc(0);
    let reply: RawReply | undefined;
    let settled = false;
    const settle = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      if (reply) settle({ kind: 'reply', reply, resetAfter: false });
      else settle({ kind: 'timeout', received: received.toString('latin1').slice(0, 500) });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      reply ??= parseReply(received);
      // A stream does not end, and a connection kept alive is not closed: their answer is all
      // there is to wait for. Otherwise the server's close is awaited, to see how it closes.
      const open = reply && (/^(text\/event-stream|application\/x-ndjson)/.test(reply.headers['content-type'] ?? '') || !/close/i.test(reply.headers.connection ?? ''));
      if (reply && open) settle({ kind: 'reply', reply, resetAfter: false });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      reply ??= parseReply(received);
      if (reply) settle({ kind: 'reply', reply, resetAfter: true });
      else settle({ kind: 'reset', code: error.code ?? error.message, received: received.toString('latin1').slice(0, 500) });
    });
    socket.on('end', () => {
      reply ??= parseReply(received, true);
      if (reply) settle({ kind: 'reply', reply, resetAfter: false });
      else settle({ kind: 'closed', received: received.toString('latin1').slice(0, 500) });
    });
    // The server may answer and close before all of the request is written; that is its right,
    // and it shows as the answer (or as a reset), not as an error of the write.
    socket.write(bytes, () => undefined);
    // Says the request is all there is, so a server waiting for bytes that never come sees the
    // end. Only once it has been silent for a while: Node drops the answers still to come to a
    // client that half-closes (it takes that client to be gone).
    if (halfCloseAfterMs !== undefined) {
      setTimeout(() => received.length === 0 && !settled && socket.end(), halfCloseAfterMs).unref();
    }
  });
}

/** A POST of `body` as `contentType`, with `headers` besides. */
export function postRaw(port: number, target: string, contentType: string, body: Buffer | string, headers: Array<[string, string]> = []): Promise<RawOutcome> {
  return sendRaw(port, { method: 'POST', target, headers: [['Content-Type', contentType], ...headers], body });
}

/** The first final (non-1xx) answer in `data` once it is complete; `ended`: the server closed. */
export function parseReply(data: Buffer, ended = false): RawReply | undefined {
  let offset = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) return undefined;
    const [statusLine, ...lines] = data.toString('latin1', offset, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
    if (!Number.isInteger(status)) return undefined;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart;
      continue;
    }
    const body = readBody(data.subarray(bodyStart), headers, status, ended);
    if (!body) return undefined;
    return { status, headers, body, text: body.toString('utf8') };
  }
}

function readBody(rest: Buffer, headers: Record<string, string>, status: number, ended: boolean): Buffer | undefined {
  if (status === 204 || status === 304) return Buffer.alloc(0);
  // Streams do not end: their headers are the answer.
  if (/^(text\/event-stream|application\/x-ndjson)/.test(headers['content-type'] ?? '') && status < 300) return Buffer.alloc(0);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return dechunk(rest);
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return rest.length >= length ? rest.subarray(0, length) : undefined;
  }
  return ended ? rest : undefined;
}

function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.toString('latin1', offset, lineEnd), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** The reply's body as JSON, or undefined when it is not JSON. */
export function jsonOf(reply: RawReply): any {
  try {
    return JSON.parse(reply.text);
  } catch {
    return undefined;
  }
}

/** A one-line account of an outcome, for failure messages. */
export function describeOutcome(outcome: RawOutcome): string {
  if (outcome.kind !== 'reply') return `${outcome.kind}${'code' in outcome ? ` ${outcome.code}` : ''} after ${JSON.stringify(outcome.received.slice(0, 200))}`;
  const { reply } = outcome;
  return `${reply.status} ${reply.headers['content-type'] ?? '(no content type)'}${outcome.resetAfter ? ' then a reset' : ''}: ${reply.text.slice(0, 300)}`;
}
