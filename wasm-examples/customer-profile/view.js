// Customer profile: one customer's name, credit and orders. Read with the parameter
// `customer_id`; events of other customers are ignored.
//
// Events (JSON data):
//   CustomerRegistered {"customerId": "c-1", "name": "Ada", "creditLimit": 1000}
//   CreditLimitChanged {"customerId": "c-1", "creditLimit": 2500}
//   OrderCreated       {"orderId": "o-1", "customerId": "c-1", "total": 120}
//   OrderCancelled     {"orderId": "o-1"}   (gives the order's amount back)
// Rendered content (application/json):
//   {"customer_id": "c-1", "registered": true, "name": "Ada", "credit_limit": 2500,
//    "order_count": 1, "total_spent": 120, "available_credit": 2380}
//   plus, once some event had to be skipped (see below):
//   "skipped_events": 1,
//   "last_skipped_event": {"revision": 3, "id": "e-3", "type": "CustomerRegistered", "reason": "…"}
//
// Events it cannot use. An event is a fact already in the log: refusing it would make every
// later render of this customer fail, for good, since the event never goes away. So this view
// - ignores events of other types (its selector is usually the customer's subject, which
//   other services use for events this view has never heard of);
// - ignores events of its types that are about someone else: another customer's
//   registration, credit or order, or the cancellation of an order that is not this
//   customer's;
// - skips an event of its types whose data it cannot read: no data, data that is not a JSON
//   object, no `customerId` string (on the three types that carry one: then it cannot tell
//   whose it is), no `orderId` string on an order event, or, on this customer's events, a
//   `name` that is not a string or a `creditLimit` or `total` that is not a non-negative
//   number. A skipped event changes nothing but `skipped_events`, and `last_skipped_event`
//   says which one it was, so it can be found and compensated for. Both are left out while
//   nothing was skipped.
// It never answers `invalid-event`. A missing `customer_id` is the reader's mistake,
// `invalid-params`; `internal` is left for a state that is not its own JSON.
//
// Amounts are kept in integer cents so sums do not drift.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class ViewError {
  constructor(kind, message) {
    this.kind = kind;
    this.message = message;
  }
}

// An event this view owns but cannot use; thrown while reading it, caught in evolve.
class Unusable {
  constructor(reason) {
    this.reason = reason;
  }
}

// A thrown ViewError becomes the call's error result. Anything else thrown would abort the
// component (a trap), so it is reported as an internal view error instead.
function guarded(body) {
  try {
    return body();
  } catch (err) {
    if (err instanceof ViewError) throw err;
    throw new ViewError('internal', String(err && err.message ? err.message : err));
  }
}

function customerId(params) {
  const entry = params.find(([name]) => name === 'customer_id');
  if (entry === undefined || entry[1] === '') {
    throw new ViewError('invalid-params', 'the parameter customer_id is required');
  }
  return entry[1];
}

// Order ids are any strings. Read only own entries (so an order "constructor" is not found on
// Object.prototype) and write "__proto__" as an own entry, not through the prototype setter.
function getEntry(object, key) {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}
function setEntry(object, key, value) {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

function readState(bytes) {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ViewError('internal', 'the state is not valid JSON');
  }
}

function dataObject(event) {
  if (event.data === undefined) throw new Unusable('it has no data');
  let data;
  try {
    data = JSON.parse(decoder.decode(event.data));
  } catch {
    throw new Unusable('its data is not JSON');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Unusable('its data is not a JSON object');
  return data;
}

function requireString(data, field) {
  if (typeof data[field] !== 'string' || data[field] === '') throw new Unusable(`${field} is not a non-empty string`);
  return data[field];
}

function requireCents(data, field) {
  const amount = data[field];
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) throw new Unusable(`${field} is not a non-negative number`);
  return Math.round(amount * 100);
}

// Applies one event of this view's types; throws Unusable for one it cannot read.
function applyOwn(state, event) {
  const data = dataObject(event);
  switch (event.type) {
    case 'CustomerRegistered': {
      if (requireString(data, 'customerId') !== state.customer_id) return;
      if (typeof data.name !== 'string') throw new Unusable('name is not a string');
      const limit = requireCents(data, 'creditLimit');
      state.registered = true;
      state.name = data.name;
      state.credit_limit_cents = limit;
      return;
    }
    case 'CreditLimitChanged': {
      if (requireString(data, 'customerId') !== state.customer_id) return;
      state.credit_limit_cents = requireCents(data, 'creditLimit');
      return;
    }
    case 'OrderCreated': {
      if (requireString(data, 'customerId') !== state.customer_id) return;
      const orderId = requireString(data, 'orderId');
      const cents = requireCents(data, 'total');
      if (getEntry(state.orders, orderId) !== undefined) return; // already counted
      setEntry(state.orders, orderId, cents);
      state.order_count += 1;
      state.spent_cents += cents;
      return;
    }
    case 'OrderCancelled': {
      const orderId = requireString(data, 'orderId');
      const cents = getEntry(state.orders, orderId);
      if (cents === undefined || cents === null) return; // not this customer's, or already cancelled
      setEntry(state.orders, orderId, null);
      state.order_count -= 1;
      state.spent_cents -= cents;
      return;
    }
  }
}

const OWN_TYPES = new Set(['CustomerRegistered', 'CreditLimitChanged', 'OrderCreated', 'OrderCancelled']);

function apply(state, event) {
  if (!OWN_TYPES.has(event.type)) return;
  try {
    applyOwn(state, event);
  } catch (err) {
    if (!(err instanceof Unusable)) throw err;
    state.skipped_events += 1;
    // revision is a bigint, which JSON cannot hold; revisions stay far below 2^53.
    state.last_skipped_event = { revision: Number(event.revision), id: event.id, type: event.type, reason: err.reason };
  }
}

export function initialState(params) {
  return guarded(() => {
    const state = {
      customer_id: customerId(params),
      registered: false,
      name: null,
      credit_limit_cents: 0,
      order_count: 0,
      spent_cents: 0,
      // orderId -> amount in cents, or null once cancelled
      orders: {},
      skipped_events: 0,
      last_skipped_event: null,
    };
    return encoder.encode(JSON.stringify(state));
  });
}

export function evolve(stateBytes, events, params) {
  return guarded(() => {
    const state = readState(stateBytes);
    if (state.customer_id !== customerId(params)) {
      throw new ViewError('invalid-params', 'customer_id differs from the one the state was built for');
    }
    for (const event of events) apply(state, event);
    return encoder.encode(JSON.stringify(state));
  });
}

export function render(stateBytes, _params) {
  return guarded(() => {
    const state = readState(stateBytes);
    const content = {
      customer_id: state.customer_id,
      registered: state.registered,
      name: state.name,
      credit_limit: state.credit_limit_cents / 100,
      order_count: state.order_count,
      total_spent: state.spent_cents / 100,
      available_credit: (state.credit_limit_cents - state.spent_cents) / 100,
    };
    if (state.skipped_events > 0) {
      content.skipped_events = state.skipped_events;
      content.last_skipped_event = state.last_skipped_event;
    }
    return encoder.encode(JSON.stringify(content));
  });
}
