// Order summary: how many orders there are in each status and the revenue of completed ones.
//
// Events (JSON data):
//   OrderCreated   {"orderId": "o-1", "customerId": "c-1", "total": 99.5}
//   OrderCompleted {"orderId": "o-1"}                (may carry a corrected "total")
//   OrderCancelled {"orderId": "o-1"}                (may carry a corrected "total")
// Rendered content (application/json):
//   {"total_orders": 3, "orders_by_status": {"created": 1, "completed": 1, "cancelled": 1},
//    "total_revenue": 99.5}
//   plus, once some event had to be skipped (see below):
//   "skipped_events": 1,
//   "last_skipped_event": {"revision": 7, "id": "e-7", "type": "OrderCreated", "reason": "…"}
//
// Events it cannot use. An event is a fact already in the log: refusing it would make every
// later render fail, for good, since the event never goes away. So this view
// - ignores events of other types (the selector may pick more than it needs);
// - skips an event of one of its three types whose data it cannot read: no data, data that is
//   not a JSON object, an `orderId` that is not a non-empty string, or a `total` that is not a
//   non-negative number (required on OrderCreated, optional on the others). A skipped event
//   changes nothing but `skipped_events`, and `last_skipped_event` says which one it was, so it
//   can be found and compensated for. Both are left out while nothing was skipped.
// It never answers `invalid-event`; `internal` is left for a state that is not its own JSON.
//
// The state remembers each order's status and total so a later completion or cancellation can
// move it between statuses. Amounts are kept in integer cents so sums do not drift.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const STATUS_BY_TYPE = {
  OrderCreated: 'created',
  OrderCompleted: 'completed',
  OrderCancelled: 'cancelled',
};

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

// The order event's fields this view uses, or Unusable.
function readOrderEvent(event) {
  const data = dataObject(event);
  if (typeof data.orderId !== 'string' || data.orderId === '') throw new Unusable('orderId is not a non-empty string');
  const totalRequired = event.type === 'OrderCreated';
  if (data.total === undefined && !totalRequired) return { orderId: data.orderId, totalCents: undefined };
  if (typeof data.total !== 'number' || !Number.isFinite(data.total) || data.total < 0) {
    throw new Unusable('total is not a non-negative number');
  }
  return { orderId: data.orderId, totalCents: Math.round(data.total * 100) };
}

function apply(state, event) {
  // (An own entry only: an event type "constructor" is not an order event either.)
  const status = getEntry(STATUS_BY_TYPE, event.type);
  if (status === undefined) return; // not an order event: this view does not care
  let data;
  try {
    data = readOrderEvent(event);
  } catch (err) {
    if (!(err instanceof Unusable)) throw err;
    state.skipped_events += 1;
    // revision is a bigint, which JSON cannot hold; revisions stay far below 2^53.
    state.last_skipped_event = { revision: Number(event.revision), id: event.id, type: event.type, reason: err.reason };
    return;
  }
  let order = getEntry(state.orders, data.orderId);
  if (order === undefined) {
    // A completion or cancellation for an order this view never saw created still counts.
    order = { status, total_cents: data.totalCents ?? 0 };
    setEntry(state.orders, data.orderId, order);
    state.total_orders += 1;
  } else {
    state.orders_by_status[order.status] -= 1;
    if (order.status === 'completed') state.revenue_cents -= order.total_cents;
    if (data.totalCents !== undefined) order.total_cents = data.totalCents;
    order.status = status;
  }
  state.orders_by_status[status] += 1;
  if (status === 'completed') state.revenue_cents += order.total_cents;
}

export function initialState(_params) {
  return guarded(() => {
    const state = {
      total_orders: 0,
      orders_by_status: { created: 0, completed: 0, cancelled: 0 },
      revenue_cents: 0,
      orders: {},
      skipped_events: 0,
      last_skipped_event: null,
    };
    return encoder.encode(JSON.stringify(state));
  });
}

export function evolve(stateBytes, events, _params) {
  return guarded(() => {
    const state = readState(stateBytes);
    for (const event of events) apply(state, event);
    return encoder.encode(JSON.stringify(state));
  });
}

export function render(stateBytes, _params) {
  return guarded(() => {
    const state = readState(stateBytes);
    const content = {
      total_orders: state.total_orders,
      orders_by_status: state.orders_by_status,
      total_revenue: state.revenue_cents / 100,
    };
    if (state.skipped_events > 0) {
      content.skipped_events = state.skipped_events;
      content.last_skipped_event = state.last_skipped_event;
    }
    return encoder.encode(JSON.stringify(content));
  });
}
