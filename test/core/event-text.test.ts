import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countMembers, eventSpansOf, type EventBodyForm } from '../../src/core/event-text.ts';
import { keepArrivedJson, storedEventJson, storedEventTexts, storedTextJson, type CloudEvent } from '../../src/core/events.ts';
import { encodeFrame } from '../../src/storage/file/log-format.ts';

/** What an append keeps: the texts of the events whose arrived bytes may be stored as they are. */
function keptTexts(bodyText: string, form: EventBodyForm): Array<string | undefined> | undefined {
  const body = Buffer.from(bodyText, 'utf8');
  const parsed = JSON.parse(bodyText) as unknown;
  const events = (form === 'batch' ? parsed : form === 'single' ? [parsed] : (parsed as { events: unknown[] }).events) as unknown[];
  const spans = eventSpansOf(body, form);
  if (spans === undefined) return undefined;
  expect(spans).toHaveLength(events.length);
  return spans.map((s, i) => (s.canonical && s.members === countMembers(events[i]) ? body.subarray(s.start, s.end).toString('utf8') : undefined));
}

const event = (extra: Record<string, unknown> = {}) => ({ specversion: '1.0', id: 'e-1', source: 'shop', type: 'OrderCreated', ...extra });

describe('events stored from the bytes they arrived with', () => {
  it('keeps compact events of every body form, byte for byte what JSON.stringify writes', () => {
    const a = event({ data: { total: 99.99, items: [1, 2, { n: null, ok: true, no: false }], note: 'Zoë "quoted" \\ \n\t😀' } });
    const b = event({ id: 'e-2', subject: 'order-1', tenant: 't1', priority: 5, urgent: true });
    for (const [text, form] of [
      [JSON.stringify({ events: [a, b], constraints: [] }), 'request'],
      [` { "constraints" : [ {"type":"max_revision","revision":0} ] ,\n "events" : [ ${JSON.stringify(a)} ,\n${JSON.stringify(b)} ] } `, 'request'],
      [`[${JSON.stringify(a)},${JSON.stringify(b)}]`, 'batch'],
      [JSON.stringify(a), 'single'],
    ] as const) {
      expect(keptTexts(text, form)).toEqual([JSON.stringify(a), JSON.stringify(b)].slice(0, form === 'single' ? 1 : 2));
    }
  });

  it('leaves to the serialiser every event whose text JSON.stringify would write otherwise', () => {
    const texts = [
      '{"specversion": "1.0","id":"a","source":"s","type":"t"}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":{"url":"a\\/b"}}',
      '{"specversion":"1.0","id":"\\u0061","source":"s","type":"t"}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":1.0}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":1e2}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":-0}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":12345678901234567890}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":0.0000001}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":0.1234567890123456}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":{"b":1,"1":2}}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":{"k":1,"k":2}}',
      '{"specversion":"1.0","id":"a","id":"b","source":"s","type":"t"}',
      '{"specversion":"1.0","id":"a","source":"s","type":"t","data":[ 1]}',
    ];
    for (const text of texts) expect(keptTexts(`{"events":[${text}]}`, 'request'), text).toEqual([undefined]);
  });

  it('keeps numbers that print back the same', () => {
    for (const n of ['0', '-1', '99.99', '0.000001', '-0.5', '123456789012345', '1234567890.12345']) {
      const text = `{"specversion":"1.0","id":"a","source":"s","type":"t","data":${n}}`;
      expect(String(Number(n))).toBe(n);
      expect(keptTexts(`[${text}]`, 'batch')).toEqual([text]);
    }
  });

  it('gives up on bodies it cannot take apart the way JSON.parse did', () => {
    const a = JSON.stringify(event());
    expect(eventSpansOf(Buffer.from(`\ufeff[${a}]`), 'batch')).toBeUndefined();
    expect(eventSpansOf(Buffer.from(`{"\\u0065vents":[${a}]}`), 'request')).toBeUndefined();
    expect(eventSpansOf(Buffer.from(`{"events":[${a}],"events":[${a},${a}]}`), 'request')).toHaveLength(2);
    expect(eventSpansOf(Buffer.from(`[${a}`), 'batch')).toBeUndefined();
  });

  it('never keeps an event whose bytes differ from its serialisation, whatever the text', () => {
    const layout = fc.constantFrom('', ' ', '\n  ');
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), { minLength: 1, maxLength: 4 }), layout, fc.boolean(), (datas, space, pretty) => {
        const events = datas.map((data, i) => ({ ...event({ id: `e-${i}` }), data }));
        const texts = events.map((e) => (pretty ? JSON.stringify(e, null, 1) : JSON.stringify(e)));
        const kept = keptTexts(`{${space}"events":${space}[${texts.join(`,${space}`)}]${space}}`, 'request');
        expect(kept).toBeDefined();
        kept!.forEach((text, i) => {
          if (text !== undefined) expect(text).toBe(JSON.stringify(JSON.parse(texts[i]!)));
        });
      }),
      { numRuns: 500 },
    );
  });

  it('writes the same log frame from kept bytes as from serialising the events', () => {
    const recordedtime = '2026-01-02T03:04:05.678Z';
    const text = JSON.stringify({
      events: [event({ data: { total: 99.99, note: 'Zoë' } }), event({ id: 'e-2', data: 1.0 }), event({ id: 'e-3', tenant: 't1' })],
    }).replace('"data":1', '"data":1.0');
    const body = Buffer.from(text);
    const events = (JSON.parse(text) as { events: CloudEvent[] }).events;
    const spans = eventSpansOf(body, 'request')!;
    keepArrivedJson(events, body, spans.map((s, i) => (s.canonical && s.members === countMembers(events[i]) ? s : undefined)));
    const texts = storedEventTexts(events, 41, recordedtime);
    expect(texts.map((t) => typeof t)).toEqual(['object', 'string', 'object']);
    const serialised = events.map((e, i) => storedEventJson(e, 41 + i, recordedtime));
    expect(texts.map(storedTextJson)).toEqual(serialised);
    expect(encodeFrame(texts).frame.equals(encodeFrame(serialised).frame)).toBe(true);
  });
});
