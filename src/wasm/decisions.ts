/**
 * Conversions for the state-change world: a command and view states into WIT records, and a
 * component's decision back into CloudEvents and constraints in their wire form (which the
 * use case then checks like any client's input: components are untrusted).
 */
import type { CloudEvent } from '../core/events.ts';
import type {
  AppendConstraint,
  AttrMatch,
  CommandInput,
  Decision,
  ProspectiveEvent,
  Rejection,
  ViewState,
} from './generated/state-change/interfaces/factum-component-decisions.js';
import { isJsonContentType } from './events.ts';

export type { CommandInput, Decision, Rejection, ViewState };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A prospective event as a CloudEvent: JSON payloads as `data`, anything else as `data_base64`. */
export function toCloudEvent(event: ProspectiveEvent): CloudEvent {
  const out: Record<string, unknown> = { specversion: event.specversion, id: event.id, source: event.source, type: event.type };
  for (const attr of ['subject', 'time', 'datacontenttype', 'dataschema'] as const) {
    if (event[attr] !== undefined) out[attr] = event[attr];
  }
  for (const [name, value] of event.extensions) out[name] = value;
  if (event.data !== undefined) {
    if (isJsonContentType(event.datacontenttype)) {
      let text: string;
      try {
        text = decoder.decode(event.data);
        out.data = JSON.parse(text);
      } catch {
        throw new Error(`event "${event.id}" declares JSON data that is not valid UTF-8 JSON`);
      }
    } else {
      out.data_base64 = Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength).toString('base64');
    }
  }
  return out as CloudEvent;
}

const WIRE_ATTR = { stream: 'stream', 'event-type': 'event_type', subject: 'subject' } as const;

function leafToWire(leaf: AttrMatch): Record<string, unknown> {
  return { type: leaf.startsWith ? 'starts_with' : 'equals', attr: { [WIRE_ATTR[leaf.attr]]: leaf.value ?? null } };
}

/** A constraint in the wire form of the append API; the selector is OR of ANDs. */
export function toWireConstraint(constraint: AppendConstraint): Record<string, unknown> {
  const revision = (n: bigint) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  const wire: Record<string, unknown> =
    constraint.condition.tag === 'revision-range'
      ? { type: 'revision_range', min: revision(constraint.condition.val.min), max: revision(constraint.condition.val.max) }
      : { type: constraint.condition.tag === 'min-revision' ? 'min_revision' : 'max_revision', revision: revision(constraint.condition.val) };
  if (constraint.selector !== undefined) {
    wire.selector = { type: 'or', selectors: constraint.selector.map((all) => ({ type: 'and', selectors: all.map(leafToWire) })) };
  }
  return wire;
}
