import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/core/events.ts';
import { isPackedEvents, packEvents, unpackEvents } from '../../src/wasm/event-batch.mjs';
import { eventDataBytes, isJsonContentType, payloadBytes, payloadOf, toWitEvent, toWitParams } from '../../src/wasm/events.ts';

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

function event(fields: Partial<StoredEvent>): StoredEvent {
  return {
    specversion: '1.0',
    id: 'e-1',
    source: 'orders',
    type: 'OrderCreated',
    revision: 7,
    recordedtime: '2026-11-25T10:00:00Z',
    ...fields,
  };
}

describe('StoredEvent to WIT event', () => {
  it('carries every attribute, the revision as a u64 and extensions as text', () => {
    const wit = toWitEvent(
      event({
        subject: 'order-1',
        time: '2026-11-25T09:59:00Z',
        datacontenttype: 'application/json',
        dataschema: 'https://example.com/order.json',
        data: { orderId: 'o-1', total: 12.5 },
        traceparent: '00-abc-def-01',
        priority: 3,
        urgent: true,
      }),
    );
    expect(wit).toMatchObject({
      specversion: '1.0',
      id: 'e-1',
      source: 'orders',
      type: 'OrderCreated',
      subject: 'order-1',
      time: '2026-11-25T09:59:00Z',
      datacontenttype: 'application/json',
      dataschema: 'https://example.com/order.json',
      revision: 7n,
      recordedtime: '2026-11-25T10:00:00Z',
    });
    expect(JSON.parse(text(wit.data)!)).toEqual({ orderId: 'o-1', total: 12.5 });
    expect(wit.extensions).toEqual([
      ['traceparent', '00-abc-def-01'],
      ['priority', '3'],
      ['urgent', 'true'],
    ]);
  });

  it('leaves absent optional attributes absent', () => {
    const wit = toWitEvent(event({}));
    expect(wit.subject).toBeUndefined();
    expect(wit.time).toBeUndefined();
    expect(wit.data).toBeUndefined();
    expect(wit.extensions).toEqual([]);
  });

  it('decodes data_base64 to the raw bytes', () => {
    const bytes = eventDataBytes(event({ datacontenttype: 'application/octet-stream', data_base64: 'AAEC/w==' }));
    expect([...bytes!]).toEqual([0, 1, 2, 255]);
  });

  it('gives JSON data as JSON text, including JSON strings, and other strings as their text', () => {
    expect(text(eventDataBytes(event({ data: 'hello' })))).toBe('"hello"');
    expect(text(eventDataBytes(event({ datacontenttype: 'application/cloudevents+json', data: 'x' })))).toBe('"x"');
    expect(text(eventDataBytes(event({ datacontenttype: 'text/plain', data: 'hello' })))).toBe('hello');
    expect(text(eventDataBytes(event({ data: null })))).toBe('null');
    expect(text(eventDataBytes(event({ data: [1, 2] })))).toBe('[1,2]');
  });

  it('recognises JSON content types', () => {
    expect(isJsonContentType(undefined)).toBe(true);
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/vnd.order+json')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType('application/xml')).toBe(false);
  });

  it('turns parameters into name/value pairs', () => {
    expect(toWitParams({ customer_id: 'c-1', region: 'eu' })).toEqual([
      ['customer_id', 'c-1'],
      ['region', 'eu'],
    ]);
  });
});

describe('events packed for a worker', () => {
  // What a worker unpacks must be what toWitEvent makes of each event, whatever the mix.
  const mixed: StoredEvent[] = [
    event({ subject: 'order-1', time: '2026-11-25T09:59:00Z', datacontenttype: 'application/json', data: { orderId: 'o-1', note: 'crème brûlée 🍮' } }),
    event({ id: 'e-2', revision: 8, dataschema: 'https://example.com/s.json', datacontenttype: 'application/octet-stream', data_base64: 'AAEC/w==' }),
    event({ id: 'e-3', revision: 9, subject: '', data: '', tenant: 'acme', priority: 3, tags: ['a', 'b'], flag: null }),
    event({ id: 'é-4', revision: 2 ** 40, datacontenttype: 'text/plain', data: 'plain text, not JSON: «ok»' }),
    event({ id: 'e-5', revision: 11, data: null, source: 'src/😀' }),
    event({ id: 'e-6', revision: 12 }),
  ];

  function roundTrip(events: readonly StoredEvent[]) {
    const payloads = events.map(payloadOf);
    const packed = packEvents(events, payloads, payloads.reduce((sum, p) => sum + payloadBytes(p), 0));
    // As a worker receives it: a structured clone.
    return unpackEvents(structuredClone(packed));
  }

  it('unpacks into the records toWitEvent makes, payloads and extensions included', () => {
    const unpacked = roundTrip(mixed);
    const expected = mixed.map(toWitEvent);
    expect(unpacked).toHaveLength(expected.length);
    unpacked.forEach((record, i) => {
      const { data, ...rest } = record;
      const { data: expectedData, ...expectedRest } = expected[i]!;
      expect(rest).toEqual(expectedRest);
      expect(data === undefined ? undefined : Buffer.from(data).toString('hex')).toEqual(expectedData === undefined ? undefined : Buffer.from(expectedData).toString('hex'));
    });
    // An empty subject and an empty payload are present, not absent.
    expect(unpacked[2]!.subject).toBe('');
    expect(unpacked[2]!.data).toEqual(new Uint8Array(Buffer.from('""')));
    expect(unpacked[5]!.data).toBeUndefined();
  });

  it('carries an empty batch, and refuses an event without a required attribute', () => {
    expect(roundTrip([])).toEqual([]);
    expect(() => packEvents([{ ...event({}), id: undefined as unknown as string }], [undefined], 0)).toThrow(/has no id/);
  });

  it('is told apart from every other argument a call takes', () => {
    const payloads = mixed.map(payloadOf);
    expect(isPackedEvents(structuredClone(packEvents(mixed, payloads, payloads.reduce((sum, p) => sum + payloadBytes(p), 0))))).toBe(true);
    for (const other of [new Uint8Array(3), [['name', 'value']], [], null, 'text', { text: 'x' }]) expect(isPackedEvents(other)).toBe(false);
  });
});
