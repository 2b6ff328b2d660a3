/**
 * The events the benchmarks write, as JSON text (built by string templates: the load generator
 * shares two cores with the server, so it must stay cheap). Every event carries ~200 bytes of
 * JSON data and a unique source + id, so no append is answered as an idempotent replay.
 */

/** Bytes of each event's `data` JSON text. */
export const DATA_BYTES = 200;
const NOTE_PAD = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris';

/** `{"orderId":…,"customerId":…,"total":…,"items":…,"note":…}`, padded to DATA_BYTES. */
function dataJson(orderId: string, n: number): string {
  const head = `{"orderId":"${orderId}","customerId":"c-${String(n % 50_000).padStart(5, '0')}","total":${(n % 100_000) / 100 + 1},"items":${(n % 9) + 1},"note":"`;
  return `${head}${NOTE_PAD.slice(0, Math.max(0, DATA_BYTES - head.length - 2))}"}`;
}

function eventJson(id: string, type: string, subject: string, data: string, tenant?: string): string {
  const extension = tenant === undefined ? '' : `"tenant":"${tenant}",`;
  return `{"specversion":"1.0","id":"${id}","source":"bench","type":"${type}","subject":"${subject}",${extension}"datacontenttype":"application/json","data":${data}}`;
}

/** An event of the append scenarios: unique per `tag` and `n`. */
export function appendEventJson(tag: string, n: number): string {
  return eventJson(`${tag}-${n}`, 'CartUpdated', `customer-${n % 50_000}`, dataJson(`o-${tag}-${n}`, n));
}

export function batchBody(events: readonly string[]): string {
  return `{"events":[${events.join(',')}]}`;
}

/**
 * The databases the query, state view and restart scenarios read. Their shape does not depend
 * on their size except in how many events there are:
 * - `PROBE_SUBJECT` has exactly 2 × PROBE_MATCHES events, spread evenly over the database, half
 *   of them of type `PROBE_TYPE`: the selective query (that subject, that type) matches
 *   PROBE_MATCHES events at every size. `PROBE_TYPE` is also the most common type (~30 %), so
 *   the index must pick the subject's list to stay selective.
 * - One event in VIEW_EVERY is an `OrderCreated` of a new order: what the order-summary view
 *   selects.
 * - The rest spread over 50 000 customers and a few types.
 */
export const PROBE_SUBJECT = 'customer-probe';
export const PROBE_TYPE = 'CartUpdated';
export const PROBE_MATCHES = 200;
/** The extension attribute `tenant` of the probe subject's events; every other customer event has one of 5 000 others. */
export const PROBE_TENANT = 'tenant-probe';
export const VIEW_TYPE = 'OrderCreated';
export const VIEW_EVERY = 50;
const COMMON_TYPES = ['CartUpdated', 'CartUpdated', 'CartUpdated', 'PageViewed', 'PageViewed', 'PageViewed', 'PageViewed', 'PaymentAuthorized', 'ShipmentScheduled', 'ReviewPosted'];

export function datasetEventJson(i: number, size: number): string {
  const probeStep = Math.max(1, Math.floor(size / (2 * PROBE_MATCHES)));
  const probe = Math.floor(i / probeStep);
  if (i % probeStep === probeStep - 1 && probe < 2 * PROBE_MATCHES) {
    return eventJson(`d-${i}`, probe % 2 === 0 ? PROBE_TYPE : 'PageViewed', PROBE_SUBJECT, dataJson(`o-${i}`, i), PROBE_TENANT);
  }
  if (i % VIEW_EVERY === VIEW_EVERY - 3) return eventJson(`d-${i}`, VIEW_TYPE, `order-${i}`, dataJson(`o-${i}`, i));
  const scrambled = Math.imul(i, 0x9e3779b1) >>> 0;
  return eventJson(`d-${i}`, COMMON_TYPES[scrambled % COMMON_TYPES.length]!, `customer-${scrambled % 50_000}`, dataJson(`o-${i}`, i), `tenant-${scrambled % 5000}`);
}

/** A new order, for appends on top of a dataset. */
export function newOrderJson(tag: string, n: number): string {
  return eventJson(`${tag}-${n}`, VIEW_TYPE, `order-${tag}-${n}`, dataJson(`o-${tag}-${n}`, n));
}
