/**
 * Generators of the small parts of a hostile request: path parameter values (valid, absent,
 * hostile), query strings and odd headers. Values are written as they go on the wire.
 */
import fc from 'fast-check';
import { SEEDED_CHANGE, SEEDED_VIEW } from './seed.ts';

export const FUZZ_DB = 'fz';

/** A percent-encoded byte. */
const pct = (byte: number) => `%${byte.toString(16).padStart(2, '0')}`;

/** Values that break decoding, matching, or the rules of a name or a number. */
const HOSTILE_SEGMENTS = [
  '%ff', '%ff%fe', '%c0%ae%c0%ae', '%e2%82', '%', '%%', '%zz', '%00', '%0a', '%0d%0a', '%20', '%2e', '%2e%2e', '.', '..', '%2f', 'a%2fb', '%5c', '~', '+',
  ';x=y', 'a%3Bb', '%25ff', '-', '-x', 'x-', 'X', 'ÄB', '%C3%A4', '%F0%9F%98%80', '%ed%a0%80', '0', '-1', '1.5', '1e3', '0x10', '9007199254740993',
  '99999999999999999999', 'NaN', 'null', 'undefined', '__proto__', 'constructor', 'prototype', 'toString', '%5B%5D', '%7B%7D', 'a'.repeat(64), 'a'.repeat(4000),
];

/** Random bytes, percent-encoded: mostly not UTF-8. */
const percentBytes = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => [...bytes].map(pct).join(''));
/** Random text, encoded as a client would. */
const encodedText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((text) => encodeURIComponent(text));
/** Names that fit the rules but name nothing. */
const absentName = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}[a-z0-9]$/).filter((name) => name !== FUZZ_DB && name !== SEEDED_VIEW && name !== SEEDED_CHANGE);

export const hostileSegment: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...HOSTILE_SEGMENTS), percentBytes, encodedText);

/** What a path parameter is in a route: its existing values and its absent ones. */
function knownValues(param: string, template: string): { existing: string[]; absent: fc.Arbitrary<string> } {
  switch (param) {
    case 'database':
      return { existing: [FUZZ_DB], absent: absentName };
    case 'name':
      return { existing: [template.includes('state-changes') ? SEEDED_CHANGE : SEEDED_VIEW], absent: absentName };
    case 'revision':
    case 'version':
      return { existing: ['1', '2'], absent: fc.integer({ min: 1000, max: 2 ** 40 }).map(String) };
    case 'attribute':
      return { existing: ['stream', 'event_type', 'subject'], absent: fc.constantFrom('source', 'type', 'data', 'id') };
    default:
      return { existing: [], absent: absentName };
  }
}

/**
 * Values for one path parameter. `destructive`: the route deletes what it names, so it never
 * gets an existing value (the fuzzed database and its components must stay).
 */
export function pathValue(param: string, template: string, destructive: boolean): fc.Arbitrary<string> {
  const { existing, absent } = knownValues(param, template);
  const arbs: Array<fc.WeightedArbitrary<string>> = [
    { arbitrary: absent, weight: 2 },
    { arbitrary: hostileSegment, weight: 4 },
  ];
  if (existing.length > 0 && !destructive) arbs.push({ arbitrary: fc.constantFrom(...existing), weight: 5 });
  const values = fc.oneof(...arbs);
  // `%66z` is `fz` once decoded, and a route deletes what the decoded name names.
  return destructive ? values.filter((value) => !existing.includes(decoded(value))) : values;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Query parameter values: fitting ones, and the rest. */
const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '0', '1', '2', '50', '100', '10000', '10001', '-1', 'true', 'false', 'maybe', 'forward', 'backward', 'sideways', 'c-7', 'subject', '2024-01-15T10:30:00Z', 'not-a-time', 'a'.repeat(1025), 'a'.repeat(9000)),
  hostileSegment,
  fc.integer().map(String),
);

/** Keys the console's pages read, and a few no route knows. */
const CONSOLE_QUERY_KEYS = ['stream', 'event_type', 'subject', 'revision_start', 'revision_end', 'time_start', 'time_end', 'direction', 'limit', 'cursor', 'expanded', 'prefix', 'add', 'remove', 'customer_id', 'revision', 'effective_time', 'version'];
const strangeKey = fc.constantFrom('a[b]', 'a[]', '__proto__', 'constructor', '%ff', '', 'x'.repeat(300), 'a.b');

/** A query string (with its `?`, or none) over `keys` and strange ones, values repeated at times. */
export function queryString(keys: readonly string[]): fc.Arbitrary<string> {
  const key = fc.oneof({ arbitrary: fc.constantFrom(...(keys.length > 0 ? keys : CONSOLE_QUERY_KEYS)), weight: 4 }, { arbitrary: fc.constantFrom(...CONSOLE_QUERY_KEYS), weight: 1 }, { arbitrary: strangeKey, weight: 1 });
  const pairs = fc.array(fc.tuple(key, queryValue), { maxLength: 6 }).map((entries) => entries.map(([k, v]) => `${k}=${v}`).join('&'));
  return fc.oneof(
    { arbitrary: fc.constant(''), weight: 2 },
    { arbitrary: pairs.map((q) => `?${q}`), weight: 6 },
    // Many parameters at once, and broken syntax.
    { arbitrary: fc.constantFrom(`?${Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&')}`, '?&&&', '?=', '?==&=', '?limit', '?limit=1&limit=2', '?%', '?a=%ff%fe'), weight: 1 },
  );
}

export type Header = [string, string];

/** Headers a client might add, sensible or not. Body-related ones are the body's business. */
export const oddHeaders: fc.Arbitrary<Header[]> = fc.array(
  fc.constantFrom<Header[]>(
    [['Accept', '*/*']],
    [['Accept', 'text/html']],
    [['Accept', 'application/json;q=0, */*;q=0.1']],
    [['HX-Request', 'true']],
    [['HX-Request', 'true'], ['HX-Target', 'databases'], ['HX-Current-URL', 'http://localhost/databases/fz/console']],
    [['HX-Request', 'true'], ['HX-Current-URL', '%ff::not a url']],
    [['HX-History-Restore-Request', 'true'], ['HX-Request', 'true']],
    [['If-None-Match', '"x"']],
    [['If-None-Match', '*']],
    [['If-None-Match', `"${'e'.repeat(4000)}"`]],
    [['X-API-Key', 'k']],
    [['Origin', 'http://evil.example']],
    [['Range', 'bytes=0-10']],
    [['Cookie', 'a=b; c']],
    [['X-Long', 'v'.repeat(8000)]],
    [['Connection', 'keep-alive']],
    [['Expect', '100-continue']],
    [['Accept-Encoding', 'gzip, br']],
    [['Host', 'evil.example:1']],
  ),
  { maxLength: 2 },
).map((sets) => sets.flat());
