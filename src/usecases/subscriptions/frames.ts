/**
 * What subscriptions, streamed queries and live state views send: frames, told apart by
 * `type`, handed to a sink that a transport (SSE, NDJSON, WebSocket) encodes. The use cases
 * know frames and sinks; only the HTTP layer knows how a frame looks on the wire.
 */
import type { RawEvent } from '../../core/events.ts';

/** Why a stream ended on the server's side, said in its `end` frame. */
export type EndReason = 'slow_consumer' | 'superseded' | 'shutdown';

export type Frame =
  /** The first frame: the resolved exclusive start. */
  | { type: 'subscribed'; after: number; consumer?: string }
  | { type: 'event'; event: RawEvent }
  /** Every matching event up to `revision` (the head when it caught up) was sent. */
  | { type: 'caught_up'; revision: number }
  /** Nothing new; every matching event up to `revision` was sent. */
  | { type: 'heartbeat'; revision: number }
  /** A live state view rendered at `revision`. */
  | { type: 'state'; revision: number; version: number; content_type: string; content?: unknown; content_base64?: string }
  /** The last frame of a streamed query. */
  | { type: 'complete'; revision: number; events: number; next_cursor?: string }
  | { type: 'end'; reason: EndReason; resume_after: number }
  /** The stream failed; `error` is what was thrown, which the transport turns into the error shape. */
  | { type: 'error'; error: unknown; resume_after?: number };

/** A connection frames are written to. */
export interface FrameSink {
  write(frame: Frame): void;
  /** Bytes handed to the connection that the client has not taken yet. */
  buffered(): number;
  /** Resolves once the connection has taken what it holds (or is gone). */
  drained(): Promise<void>;
  /** Aborted when the client goes away. */
  readonly gone: AbortSignal;
}

/** Revision of the frame's SSE `id` (what a client resumes after), where it has one. */
export function resumeRevisionOf(frame: Frame): number | undefined {
  switch (frame.type) {
    case 'event':
      return frame.event.revision;
    case 'caught_up':
    case 'heartbeat':
    case 'state':
      return frame.revision;
    default:
      return undefined;
  }
}
