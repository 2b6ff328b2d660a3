/**
 * Subscriptions over WebSocket, on the path of the HTTP form: `/databases/{db}/subscriptions`
 * with `Upgrade: websocket`. The frames are the same JSON as NDJSON's lines, one per text
 * message. Everything that can be refused is refused before the upgrade, as an HTTP answer in
 * the usual error shape; after it, a subscription ends with its last frame and then the close.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { InvalidArgumentError, NotFoundError } from '../core/errors.ts';
import type { FactumContext } from '../usecases/context.ts';
import { requireDatabase } from '../usecases/require-database.ts';
import type { Frame } from '../usecases/subscriptions/frames.ts';
import type { Slot } from '../usecases/subscriptions/hub.ts';
import { hubOf, openSubscription, runSubscription, type PreparedSubscription, type SubscriptionRequest } from '../usecases/subscriptions/subscribe.ts';
import { authorizeUpgrade } from './access/authorize.ts';
import { toHttpError } from './errors.ts';
import { startsAtOnce, subscriptionFromParameters, type SubscribeParameters } from './routes/subscriptions.ts';
import { admit, callerOf, frameJson, SUBSCRIPTION_RETRY_AFTER_S, type ClosableSink } from './streams.ts';
import { validate } from './validate.ts';

/** Largest message a client may send: a subscribe message with its selectors. */
const MAX_MESSAGE_BYTES = 256 * 1024;
const SUBSCRIPTIONS_PATH = /^\/databases\/([^/]+)\/subscriptions\/?$/;

/** Serves WebSocket subscriptions on `server`; every other upgrade is answered 404. */
export function attachWebSockets(server: Server, ctx: FactumContext, options: { allowedOrigins?: readonly string[] } = {}): void {
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrade(ctx, wss, req, socket, head, allowedOrigins).catch((error: unknown) => refuse(socket, error));
  });
}

async function upgrade(ctx: FactumContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, allowedOrigins: ReadonlySet<string>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://upgrade.invalid');
  const match = SUBSCRIPTIONS_PATH.exec(url.pathname);
  if (!match) throw new NotFoundError(`no WebSocket endpoint at ${url.pathname}`, { path: url.pathname });
  const databaseName = safeDecode(match[1]!);
  const principal = await authorizeUpgrade(ctx, req, 'subscribe', databaseName, allowedOrigins);
  const { database, query } = validated(databaseName, url.searchParams);
  const slot = admit(hubOf(ctx), callerOf(principal, req.socket.remoteAddress));
  try {
    // With parameters the subscription starts at once (and can be refused now); without, the
    // client says what it wants in a subscribe message, but the database must exist.
    let first: PreparedSubscription | undefined;
    if (startsAtOnce(query)) first = await openSubscription(ctx, database, subscriptionFromParameters(query));
    else await requireDatabase(ctx, database);
    wss.handleUpgrade(req, socket, head, (ws) => serveConnection(ctx, ws, slot, database, first));
  } catch (error) {
    slot.release();
    throw error;
  }
}

/** One connection: at most one subscription at a time, replaced by each subscribe message. */
function serveConnection(ctx: FactumContext, ws: WebSocket, slot: Slot, database: string, first: PreparedSubscription | undefined): void {
  const sink = webSocketSink(ws);
  slot.sink = sink;
  let running: { stop: AbortController; done: Promise<void> } | undefined;
  const start = (subscription: PreparedSubscription) => {
    const stop = new AbortController();
    const done = runSubscription(ctx, subscription, sink, AbortSignal.any([slot.signal, stop.signal])).then(() => {
      // Ended on its own (not replaced): that ends the connection.
      if (running?.stop === stop) sink.close();
    });
    running = { stop, done };
  };
  // Messages are handled one after another: a subscribe waits until the one it replaces stopped.
  let handling = Promise.resolve();
  ws.on('message', (data: RawData, isBinary: boolean) => {
    handling = handling.then(async () => {
      const replaced = running;
      running = undefined;
      replaced?.stop.abort('replaced');
      await replaced?.done;
      if (sink.gone.aborted) return;
      try {
        start(await openSubscription(ctx, database, subscribeMessage(data, isBinary)));
      } catch (error) {
        sink.write({ type: 'error', error });
        sink.close();
      }
    });
  });
  ws.on('close', () => {
    running?.stop.abort('gone');
    slot.release();
  });
  // Stopping the server also closes connections that have not subscribed yet.
  slot.signal.addEventListener('abort', () => running === undefined && sink.close());
  if (first) start(first);
}

/** What a subscribe message asks for: its fields other than `type` are a SubscriptionRequest. */
function subscribeMessage(data: RawData, isBinary: boolean): SubscriptionRequest {
  let message: unknown;
  try {
    message = isBinary ? undefined : JSON.parse(String(data));
  } catch {
    message = undefined;
  }
  if (!message || typeof message !== 'object' || (message as { type?: unknown }).type !== 'subscribe') {
    throw new InvalidArgumentError('a message must be a JSON text {"type":"subscribe", …} with the fields of a SubscriptionRequest', { field: 'type' });
  }
  const { type: _type, ...request } = message as Record<string, unknown>;
  return request as SubscriptionRequest;
}

/** A sink over a WebSocket; its close says why in the close code, from the last frame written. */
function webSocketSink(ws: WebSocket): ClosableSink {
  const gone = new AbortController();
  ws.once('close', () => gone.abort());
  let last: Frame | undefined;
  const waiting = new Set<() => void>();
  const wake = () => {
    if (ws.bufferedAmount > 0 && ws.readyState === WebSocket.OPEN) return;
    for (const resolve of waiting) resolve();
    waiting.clear();
  };
  ws.once('close', wake);
  return {
    gone: gone.signal,
    write(frame) {
      if (ws.readyState !== WebSocket.OPEN) return;
      last = frame;
      // The callback runs once the frame went to the socket: the moment to look at the buffer again.
      ws.send(frameJson(frame), wake);
    },
    buffered: () => ws.bufferedAmount,
    drained: () =>
      new Promise<void>((resolve) => {
        if (ws.bufferedAmount === 0 || ws.readyState !== WebSocket.OPEN) return resolve();
        waiting.add(resolve);
      }),
    close() {
      if (ws.readyState !== WebSocket.OPEN) return;
      const { code, reason } = closeOf(last);
      ws.close(code, reason);
    },
  };
}

/** 4000 + the HTTP status after an error frame; 1001 when the server stops; else 1000. */
function closeOf(last: Frame | undefined): { code: number; reason: string } {
  if (last?.type === 'error') {
    const { status, code } = toHttpError(last.error);
    return { code: 4000 + status, reason: code };
  }
  if (last?.type === 'end') return { code: last.reason === 'shutdown' ? 1001 : 1000, reason: last.reason };
  return { code: 1000, reason: '' };
}

/** The path and query parameters, checked by the rules of the GET form (openapi.yaml `subscribe`). */
function validated(database: string, searchParams: URLSearchParams): { database: string; query: SubscribeParameters } {
  const query: Record<string, string> = {};
  for (const [name, value] of searchParams) {
    if (name in query) throw new InvalidArgumentError(`parameter "${name}" must be given once`, { field: name });
    query[name] = value;
  }
  // Authorized above, by authorizeUpgrade, as the HTTP routes are before their validation.
  const res = { locals: { authorizedOperation: 'subscribe' } } as unknown as Response;
  let failure: unknown;
  validate('subscribe')({ params: { database }, query, headers: {} } as unknown as Request, res, (error?: unknown) => (failure = error));
  if (failure) throw failure;
  return { database, query: res.locals.query as SubscribeParameters };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError('the path is not valid percent-encoding', { field: 'database' });
  }
}

/** Answers a refused upgrade in plain HTTP, in the error shape, and closes the socket. */
function refuse(socket: Duplex, error: unknown): void {
  if (socket.destroyed) return;
  const { status, code, message, details, headers } = toHttpError(error);
  const body = JSON.stringify({ error: { code, message, details } });
  const retry = code === 'RESOURCE_EXHAUSTED' ? { 'Retry-After': String(SUBSCRIPTION_RETRY_AFTER_S) } : {};
  const lines = Object.entries({ ...headers, ...retry, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
}
