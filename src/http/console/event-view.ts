/** Events as the templates show them. */
import { parseStoredEvent, type CloudEvent, type RawEvent } from '../../core/events.ts';

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
  /** The data as text: JSON pretty-printed, text as is, binary as its base64. */
  data: string | null;
  dataKind: 'json' | 'text' | 'base64' | null;
}

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
  return {
    revision: event.revision,
    id: event.id,
    source: event.source,
    type: event.type,
    subject: event.subject ?? null,
    effectiveTime: event.time ?? event.recordedtime ?? '',
    timeIsRecorded: event.time === undefined,
    attributes: names.map((name) => ({ name, value: String((attributes as Record<string, unknown>)[name]) })),
    data: shown,
    dataKind,
  };
}
