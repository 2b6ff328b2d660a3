/**
 * Streams over HTTP: which transport a request asks for, how a frame looks on the wire (the
 * same JSON for NDJSON, SSE and WebSocket), and the sink that writes frames to a response.
 */
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import type { Principal } from '../core/access.ts';
import { ResourceExhaustedError } from '../core/errors.ts';
import { resumeRevisionOf, type Frame, type FrameSink } from '../usecases/subscriptions/frames.ts';
import type { Slot, SubscriptionHub } from '../usecases/subscriptions/hub.ts';
import { toHttpError } from './errors.ts';

export const NDJSON = 'application/x-ndjson';
export const EVENT_STREAM = 'text/event-stream';

export type StreamTransport = typeof NDJSON | typeof EVENT_STREAM;

/** Seconds a client refused for the subscription limit is asked to wait. */
export const SUBSCRIPTION_RETRY_AFTER_S = 5;
/** How long an ended stream may take to flush its last frames before its connection is cut. */
const CLOSE_GRACE_MS = 10_000;
/** What an EventSource waits before reconnecting after the server closed the stream. */
const SSE_RETRY_MS = 1000;

/** Whether the client prefers `media` to JSON (an Accept of *\/* or none does not). */
export function prefers(req: Request, media: string): boolean {
  return req.accepts(['application/json', media]) === media;
}

/**
 * Whether a query may be asking for an NDJSON stream, from its headers alone: only an Accept
 * that names the media type can prefer it to JSON (wildcards pick JSON, named first).
 */
export function mayAskForNdjson(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.toLowerCase().includes(NDJSON);
}

/**
 * The frame as JSON text. An event's stored JSON is spliced in as it is, never re-serialised;
 * an error becomes the public error shape.
 */
export function frameJson(frame: Frame, req?: Request): string {
  switch (frame.type) {
    case 'event':
      return `{"type":"event","revision":${frame.event.revision},"event":${frame.event.json}}`;
    case 'error': {
      const { code, message, details } = toHttpError(frame.error, req);
      return JSON.stringify({ type: 'error', error: { code, message, details }, ...(frame.resume_after !== undefined && { resume_after: frame.resume_after }) });
    }
    default:
      return JSON.stringify(frame);
  }
}

/**
 * One SSE message per frame, unnamed, so that `onmessage` sees every frame; `id` is the
 * revision a client resumes after. JSON text holds no line breaks, so one `data` line is enough.
 */
export function sseMessage(frame: Frame, json: string): string {
  const id = resumeRevisionOf(frame);
  return `${id === undefined ? '' : `id: ${id}\n`}data: ${json}\n\n`;
}

/**
 * Takes a subscription place for the caller (its key, else its address), or refuses with 429
 * and Retry-After.
 */
export function admit(hub: SubscriptionHub, caller: string, res?: Response): Slot {
  try {
    return hub.admit(caller);
  } catch (error) {
    if (error instanceof ResourceExhaustedError) res?.set('Retry-After', String(SUBSCRIPTION_RETRY_AFTER_S));
    throw error;
  }
}

/** A sink the transport can also end: after its last frame, flushing what it holds. */
export interface ClosableSink extends FrameSink {
  close(): void;
}

/**
 * Starts a streamed response (status and headers go out now) and returns its sink. Frames are
 * written as JSON, or as `encode` has them (the console's HTML messages); it may skip a frame.
 */
export function startHttpStream(req: Request, res: Response, transport: StreamTransport, encode?: (frame: Frame) => string | undefined): ClosableSink {
  res.status(200).set({
    'Content-Type': transport === EVENT_STREAM ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Cache-Control': 'no-cache, no-store',
    // Proxies must pass frames on as they come instead of collecting the response.
    'X-Accel-Buffering': 'no',
    // A stream's connection is not worth keeping once it ends; closing it lets a stopping server go at once.
    Connection: 'close',
  });
  res.flushHeaders();
  if (transport === EVENT_STREAM) res.write(`retry: ${SSE_RETRY_MS}\n\n`);
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  return {
    gone: gone.signal,
    write(frame) {
      if (res.writableEnded || res.destroyed) return;
      if (encode) {
        const text = encode(frame);
        if (text !== undefined) res.write(text);
        return;
      }
      const json = frameJson(frame, req);
      res.write(transport === EVENT_STREAM ? sseMessage(frame, json) : `${json}\n`);
    },
    // The response's own buffer and its socket's: all the client has not taken yet.
    buffered: () => res.writableLength,
    drained: () =>
      new Promise<void>((resolve) => {
        if (res.writableLength === 0 || res.destroyed) return resolve();
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
    close() {
      if (res.writableEnded) return;
      res.end();
      // A client that does not read would hold the connection, and what is buffered for it, forever.
      const cut = setTimeout(() => res.destroy(), CLOSE_GRACE_MS);
      cut.unref();
      res.once('close', () => clearTimeout(cut));
    },
  };
}

/** Who holds a subscription, for the per-caller bound: the key, else the client's address. */
export function callerOf(principal: Principal | undefined, address: string | undefined): string {
  return principal?.kind === 'key' ? `key:${principal.key.id}` : `address:${address ?? ''}`;
}
