/**
 * Live state views: a view rendered now, then again whenever events it selects have been
 * appended, at most once per live-view interval. Whether anything it selects arrived is the
 * render's own ETag check (the latest matching event), so a render that would not change is
 * answered without running the component, and is not sent.
 */
import { InvalidArgumentError, NotFoundError } from '../../core/errors.ts';
import type { FactumContext } from '../context.ts';
import { requireDatabase } from '../require-database.ts';
import { renderStateView, type RenderRequest, type RenderResult } from '../state-views.ts';
import type { Frame, FrameSink } from './frames.ts';
import { roomIn, SlowConsumerError, startHeartbeats, streamSettings } from './flow.ts';
import { hubOf, serverStopOf } from './subscribe.ts';
import { sleep } from './waiting.ts';

export type LiveView = (sink: FrameSink, signal: AbortSignal) => Promise<void>;

/**
 * Renders the view once (so a bad request is still an HTTP error) and returns what follows it:
 * `state` frames, heartbeats, and an `end` or `error` frame last.
 */
export async function openLiveView(ctx: FactumContext, database: string, name: string, request: RenderRequest): Promise<LiveView> {
  const hub = hubOf(ctx);
  if (request.revision !== undefined || request.effectiveTime !== undefined) {
    const field = request.revision !== undefined ? 'revision' : 'effective_time';
    throw new InvalidArgumentError(`a live state view follows the latest revision; ${field} does not apply`, { field });
  }
  // Watching starts before the first render, so nothing appended after it goes unnoticed.
  const watch = hub.feed.watch(await requireDatabase(ctx, database));
  let first: RenderResult;
  try {
    first = await renderStateView(ctx, database, name, { ...request, ifNoneMatch: undefined });
  } catch (error) {
    watch.close();
    throw error;
  }
  if (first.notModified) throw new Error('a render without If-None-Match answered 304');
  const firstFrame = stateFrame(first);
  const settings = streamSettings(ctx);
  return async (sink, signal) => {
    const stopped = AbortSignal.any([signal, sink.gone]);
    // What the client has: the rendering of `etag`, which is still the view at `revision`.
    let shown = { etag: first.etag, revision: first.revision };
    const heartbeats = startHeartbeats(sink, settings, () => shown.revision);
    let renderedAt = Date.now();
    try {
      heartbeats.send(firstFrame);
      while (!stopped.aborted) {
        if (watch.gone) throw new NotFoundError(`database "${database}" was deleted`, { database });
        await watch.next(shown.revision, stopped);
        // Renders wait out the interval since the last one: whatever arrives meanwhile is in the next.
        const wait = renderedAt + settings.liveViewIntervalMs - Date.now();
        if (stopped.aborted || (wait > 0 && !(await sleep(wait, stopped)))) break;
        const result = await renderStateView(ctx, database, name, { ...request, ifNoneMatch: [shown.etag] });
        renderedAt = Date.now();
        if (!(await roomIn(sink, settings, stopped))) break;
        shown = { etag: result.etag, revision: result.revision };
        if (!result.notModified) heartbeats.send(stateFrame(result));
      }
      const stop = serverStopOf(stopped.reason);
      if (stop?.kind === 'end') sink.write({ type: 'end', reason: stop.reason, resume_after: shown.revision });
    } catch (error) {
      if (sink.gone.aborted) return;
      sink.write(error instanceof SlowConsumerError ? { type: 'end', reason: 'slow_consumer', resume_after: shown.revision } : { type: 'error', error });
    } finally {
      heartbeats.stop();
      watch.close();
    }
  };
}

/** A rendering as a frame: JSON content as JSON, text as text, anything else in base64. */
function stateFrame(result: Extract<RenderResult, { notModified: false }>): Frame {
  const base = { type: 'state' as const, revision: result.revision, version: result.version, content_type: result.contentType };
  const media = result.contentType.split(';')[0]!.trim().toLowerCase();
  const text = () => new TextDecoder().decode(result.content);
  if (media === 'application/json' || media.endsWith('+json')) {
    try {
      return { ...base, content: JSON.parse(text()) as unknown };
    } catch {
      return { ...base, content: text() };
    }
  }
  if (media.startsWith('text/') || media.endsWith('+xml') || media === 'application/xml') return { ...base, content: text() };
  return { ...base, content_base64: Buffer.from(result.content).toString('base64') };
}
