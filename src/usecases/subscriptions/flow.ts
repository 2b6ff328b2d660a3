/**
 * Flow control shared by every stream: backpressure (never more than a bounded amount handed to
 * a connection the client does not read), the slow-consumer time limit, and heartbeats.
 */
import { ResourceExhaustedError } from '../../core/errors.ts';
import type { Frame, FrameSink } from './frames.ts';
import { DEFAULT_SUBSCRIPTION_SETTINGS, type SubscriptionSettings } from './settings.ts';
import { settle } from './waiting.ts';
import type { FactumContext } from '../context.ts';

/** The client did not take what it was sent within the slow-consumer time limit. */
export class SlowConsumerError extends ResourceExhaustedError {
  constructor(timeoutMs: number) {
    super(`the client took nothing for ${timeoutMs} ms while its buffer was full; the stream was ended`, { timeout_ms: timeoutMs });
  }
}

/** The hub's settings as they are now, or the defaults on a server without a hub. */
export function streamSettings(ctx: FactumContext): SubscriptionSettings {
  return { ...(ctx.subscriptions?.settings ?? DEFAULT_SUBSCRIPTION_SETTINGS) };
}

/**
 * Waits until the connection has room for another frame; false when `signal` aborts first.
 * Throws SlowConsumerError when the connection does not drain within the time limit.
 */
export async function roomIn(sink: FrameSink, settings: SubscriptionSettings, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (sink.buffered() <= settings.maxBufferedBytes) return true;
  const outcome = await settle(sink.drained(), settings.slowConsumerTimeoutMs, signal);
  if (outcome === 'timeout') throw new SlowConsumerError(settings.slowConsumerTimeoutMs);
  return outcome === 'done';
}

export interface Heartbeats {
  /** Writes a frame, which also counts as a sign of life. */
  send(frame: Frame): void;
  stop(): void;
}

/**
 * Sends a heartbeat, with `revision()`, whenever nothing else was sent for the heartbeat
 * interval; never into a buffer that is already over its bound.
 */
export function startHeartbeats(sink: FrameSink, settings: SubscriptionSettings, revision: () => number): Heartbeats {
  let sentSinceTick = false;
  const send = (frame: Frame) => {
    sink.write(frame);
    sentSinceTick = true;
  };
  const timer = setInterval(() => {
    if (!sentSinceTick && sink.buffered() <= settings.maxBufferedBytes) send({ type: 'heartbeat', revision: revision() });
    sentSinceTick = false;
  }, settings.heartbeatMs);
  return { send, stop: () => clearInterval(timer) };
}
