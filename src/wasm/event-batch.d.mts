// Types of event-batch.mjs, which stays plain JavaScript for the component worker.
import type { StoredEvent } from '../core/events.ts';
import type { Event as WitEvent } from './generated/state-view/interfaces/factum-component-types.js';

/** A batch of events packed for a worker thread: see event-batch.mjs. */
export interface PackedEvents {
  count: number;
  text: string;
  ends: Uint32Array;
  presence: Uint16Array;
  extensionCounts: Uint32Array;
  revisions: Float64Array;
  data: Uint8Array;
  dataEnds: Uint32Array;
}

export function extensionsOf(event: StoredEvent): Array<[string, string]>;
export function packEvents(events: readonly StoredEvent[], payloads: ReadonlyArray<string | Uint8Array | undefined>, payloadBytes: number): PackedEvents;
export function isPackedEvents(value: unknown): value is PackedEvents;
export function unpackEvents(batch: PackedEvents): WitEvent[];
