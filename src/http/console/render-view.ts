/** A state view rendered for a page or fragment: the content as the page shows it, or why not. */
import type { Request } from 'express';
import type { ErrorCode } from '../../core/errors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { renderStateView } from '../../usecases/state-views.ts';
import { RENDER_OPTIONS } from '../render-query.ts';
import { emptyRenderValues, readRenderValues, renderRequest, type RenderValues } from './component-forms.ts';
import { shownInPlace } from './page-errors.ts';
import { formatBytes } from './views.ts';

/** Rendered content as the page shows it. */
interface RenderedView {
  name: string;
  version: number;
  revision: number;
  evolvedEvents: number;
  contentType: string;
  bytes: string;
  /** `json` pretty-printed, `text` as is, `binary` and `empty` not shown. */
  kind: 'json' | 'text' | 'binary' | 'empty';
  text: string | null;
  /** Declared JSON, but the bytes did not parse: shown as text. */
  invalidJson: boolean;
  truncated: boolean;
  /** The page showing this render, to link to. */
  pageUrl: string;
}

export type RenderOutcome = { values: RenderValues; status: number } & (
  | { ok: true; result: RenderedView }
  | { ok: false; code: ErrorCode; message: string }
);

/** Text beyond this is cut off in the page (the API serves it whole). */
const MAX_SHOWN_CHARS = 200_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Renders with the render form's values in `req.query`: the result, or the error to show in its place. */
export async function renderForPage(ctx: FactumContext, database: string, name: string, req: Request): Promise<RenderOutcome> {
  let values = emptyRenderValues();
  try {
    values = readRenderValues(req.query);
    const result = await renderStateView(ctx, database, name, renderRequest(values));
    if (result.notModified) throw new Error('unreachable: rendered without If-None-Match');
    const pageQuery = new URLSearchParams(Object.entries(values.params));
    for (const option of RENDER_OPTIONS) if (values[option] !== '') pageQuery.set(option, values[option]);
    return {
      ok: true,
      status: 200,
      values,
      result: {
        name: result.name,
        version: result.version,
        revision: result.revision,
        evolvedEvents: result.evolvedEvents,
        contentType: result.contentType,
        bytes: formatBytes(result.content.byteLength),
        ...describeContent(result.contentType, result.content),
        pageUrl: `/databases/${database}/console/state-views/${name}${pageQuery.size > 0 ? `?${pageQuery}` : ''}`,
      },
    };
  } catch (error) {
    const { status, code, message } = shownInPlace(error, req);
    return { ok: false, status, values, code, message };
  }
}

const isJsonType = (contentType: string) => /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(contentType);

function describeContent(contentType: string, content: Uint8Array): Pick<RenderedView, 'kind' | 'text' | 'invalidJson' | 'truncated'> {
  const none = { text: null, invalidJson: false, truncated: false };
  if (content.byteLength === 0) return { kind: 'empty', ...none };
  let text: string;
  try {
    text = utf8.decode(content);
  } catch {
    return { kind: 'binary', ...none };
  }
  // Valid UTF-8 can still be binary: control characters other than whitespace give it away.
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) return { kind: 'binary', ...none };
  let kind: 'json' | 'text' = 'text';
  let invalidJson = false;
  if (isJsonType(contentType)) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
      kind = 'json';
    } catch {
      invalidJson = true;
    }
  }
  const truncated = text.length > MAX_SHOWN_CHARS;
  return { kind, text: truncated ? text.slice(0, MAX_SHOWN_CHARS) : text, invalidJson, truncated };
}
