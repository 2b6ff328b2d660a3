/** Events as the templates show them. */
import { parseStoredEvent, type CloudEvent, type RawEvent } from '../../core/events.ts';
import { formatBytes } from './views.ts';

export interface EventView {
  revision: number;
  id: string;
  source: string;
  type: string;
  subject: string | null;
  /** CloudEvents `time`, or when the event was recorded if it has none. */
  effectiveTime: string;
  timeIsRecorded: boolean;
  attributes: Array<{ name: string; value: string }>;
  /** The data as text: JSON pretty-printed, text as is, binary as its base64; its start only, when large. */
  data: string | null;
  dataKind: 'json' | 'text' | 'base64' | null;
  /** When `data` is only the start of it: how big the whole text is, and how much is shown. */
  dataCut: { size: string; shown: string } | null;
}

/**
 * Pages show this much of an event's data, in UTF-8 bytes. A 5 MiB event would otherwise make a
 * 5 MiB page that browsers cannot lay out; the whole event is a link away, as JSON.
 */
export const DATA_PREVIEW_BYTES = 64 * 1024;

/** Extension attributes are strings of any length; a page shows this many characters of one. */
export const ATTRIBUTE_PREVIEW_CHARS = 1024;

const ATTRIBUTE_ORDER = ['revision', 'id', 'source', 'type', 'subject', 'time', 'recordedtime', 'specversion', 'datacontenttype', 'dataschema'];

export function toEventView(raw: RawEvent): EventView {
  return describeEvent(parseStoredEvent(raw));
}

/** A stored event, or one a dry run would store (with the revision it would get, not yet recorded). */
export function describeEvent(event: CloudEvent & { revision: number; recordedtime?: string }): EventView {
  const { data, data_base64, ...attributes } = event;
  const names = [
    ...ATTRIBUTE_ORDER.filter((name) => name in attributes),
    ...Object.keys(attributes)
      .filter((name) => !ATTRIBUTE_ORDER.includes(name))
      .sort(),
  ];
  let shown: string | null = null;
  let dataKind: EventView['dataKind'] = null;
  if ('data' in event) {
    dataKind = typeof data === 'string' ? 'text' : 'json';
    shown = typeof data === 'string' ? data : JSON.stringify(data, null, 2);
  } else if (typeof data_base64 === 'string') {
    dataKind = 'base64';
    shown = data_base64;
  }
  const preview = shown === null ? null : textPreview(shown, DATA_PREVIEW_BYTES);
  return {
    revision: event.revision,
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject ?? null,
    effectiveTime: event.time ?? event.recordedtime ?? '',
    timeIsRecorded: event.time === undefined,
    attributes: names.map((name) => ({ name, value: attributeText((attributes as Record<string, unknown>)[name]) })),
    data: preview?.text ?? null,
    dataKind,
    dataCut: preview?.cut ? { size: formatBytes(preview.bytes), shown: formatBytes(DATA_PREVIEW_BYTES) } : null,
  };
}

/**
 * The first `limit` UTF-8 bytes of `text`, never ending inside a character, and the size of the
 * whole. Only the start is encoded: a character is at most 4 bytes, and never fewer than 1.
 */
export function textPreview(text: string, limit: number): { text: string; cut: boolean; bytes: number } {
  const bytes = Buffer.byteLength(text);
  if (bytes <= limit) return { text, cut: false, bytes };
  const start = Buffer.from(text.slice(0, limit)).subarray(0, limit);
  // `stream: true` holds back a character cut in two instead of decoding it as U+FFFD.
  return { text: new TextDecoder('utf-8').decode(start, { stream: true }), cut: true, bytes };
}

function attributeText(value: unknown): string {
  const text = String(value);
  return text.length > ATTRIBUTE_PREVIEW_CHARS ? `${text.slice(0, ATTRIBUTE_PREVIEW_CHARS)}… (${formatBytes(Buffer.byteLength(text))} in all)` : text;
}
