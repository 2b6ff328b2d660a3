/** Clients' side of the streams: frames read from NDJSON over fetch and from a WebSocket. */
import WebSocket from 'ws';

export interface WireFrame {
  type: string;
  revision?: number;
  event?: Record<string, any> & { revision: number };
  after?: number;
  reason?: string;
  resume_after?: number;
  error?: { code: string; message: string; details: Record<string, unknown> };
  [field: string]: unknown;
}

/** Frames as they arrive, read one at a time with a time limit. */
export class FrameReader {
  readonly frames: WireFrame[] = [];
  #read = 0;
  #waiting: (() => void) | undefined;
  ended = false;

  push(frame: WireFrame): void {
    this.frames.push(frame);
    this.#waiting?.();
  }

  end(): void {
    this.ended = true;
    this.#waiting?.();
  }

  /** The next frame not read yet; fails after `timeoutMs`, or undefined once the stream ended. */
  async next(timeoutMs = 5000): Promise<WireFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.frames.length) {
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms (got ${JSON.stringify(this.frames.slice(-3))})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiting = undefined;
    }
    return this.frames[this.#read++];
  }

  /** Reads frames until one satisfies `test`, returning those read (it included). */
  async until(test: (frame: WireFrame) => boolean, timeoutMs = 5000): Promise<WireFrame[]> {
    const read: WireFrame[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      if (!frame) throw new Error(`the stream ended before the frame looked for (read ${JSON.stringify(read.slice(-3))})`);
      read.push(frame);
      if (test(frame)) return read;
    }
  }
}

export interface NdjsonStream extends FrameReader {
  status: number;
  headers: Headers;
  close(): void;
}

/** Opens an NDJSON stream with fetch and reads its lines as they come. */
export async function openNdjson(url: string, init: RequestInit = {}): Promise<NdjsonStream & { body?: unknown }> {
  const abort = new AbortController();
  const res = await fetch(url, { ...init, headers: { accept: 'application/x-ndjson', ...(init.headers as Record<string, string>) }, signal: abort.signal });
  const reader = new FrameReader() as NdjsonStream & { body?: unknown };
  Object.assign(reader, { status: res.status, headers: res.headers, close: () => abort.abort() });
  if (res.status !== 200) {
    reader.body = await res.json();
    reader.end();
    return reader;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let rest = '';
    try {
      for await (const chunk of res.body!) {
        rest += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = rest.indexOf('\n')) >= 0) {
          reader.push(JSON.parse(rest.slice(0, newline)) as WireFrame);
          rest = rest.slice(newline + 1);
        }
      }
    } catch {
      // aborted by close()
    }
    reader.end();
  })();
  return reader;
}

export interface WebSocketStream extends FrameReader {
  socket: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  close(): void;
}

/** Opens a WebSocket to the subscriptions path; rejects with the HTTP status if the upgrade is refused. */
export function openWebSocket(url: string): Promise<WebSocketStream> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'));
    const reader = new FrameReader() as WebSocketStream;
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.once('close', (code, reason) => {
        reader.end();
        done({ code, reason: reason.toString() });
      }),
    );
    Object.assign(reader, { socket, closed, send: (m: unknown) => socket.send(JSON.stringify(m)), close: () => socket.close() });
    socket.on('message', (data) => reader.push(JSON.parse(String(data)) as WireFrame));
    socket.once('open', () => resolve(reader));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body: JSON.parse(body || '{}'), headers: res.headers })));
    });
    socket.once('error', (error) => reject(error));
  });
}

/** The revisions of the event frames among `frames`. */
export const revisionsOf = (frames: readonly WireFrame[]) => frames.filter((f) => f.type === 'event').map((f) => f.revision!);
