// Order summary: how many orders there are in each status and the revenue of completed ones.
//
// Events (JSON data):
//   OrderCreated   {"orderId": "o-1", "customerId": "c-1", "total": 99.5}
//   OrderCompleted {"orderId": "o-1"}
//   OrderCancelled {"orderId": "o-1"}
// Rendered content (application/json):
//   {"total_orders": 3, "orders_by_status": {"created": 1, "completed": 1, "cancelled": 1},
//    "total_revenue": 99.5}
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

function readJson(bytes, what) {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ViewError('internal', `${what} is not valid JSON`);
  }
}

function eventData(event) {
  if (event.data === undefined) {
    throw new ViewError('invalid-event', `event ${event.id} (revision ${event.revision}) has no data`);
  }
  const data = readJson(event.data, `data of event ${event.id}`);
  if (!data || typeof data !== 'object' || typeof data.orderId !== 'string' || data.orderId === '') {
    throw new ViewError('invalid-event', `event ${event.id} (revision ${event.revision}) has no orderId`);
  }
  return data;
}

function toCents(amount) {
  return typeof amount === 'number' && Number.isFinite(amount) ? Math.round(amount * 100) : 0;
}

function apply(state, event) {
  const status = STATUS_BY_TYPE[event.type];
  if (status === undefined) return; // not an order event: this view does not care
  const data = eventData(event);
  let order = state.orders[data.orderId];
  if (order === undefined) {
    // A completion or cancellation for an order this view never saw created still counts.
    order = { status, total_cents: toCents(data.total) };
    state.orders[data.orderId] = order;
    state.total_orders += 1;
  } else {
    state.orders_by_status[order.status] -= 1;
    if (order.status === 'completed') state.revenue_cents -= order.total_cents;
    if (data.total !== undefined) order.total_cents = toCents(data.total);
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
    };
    return encoder.encode(JSON.stringify(state));
  });
}

export function evolve(stateBytes, events, _params) {
  return guarded(() => {
    const state = readJson(stateBytes, 'state');
    for (const event of events) apply(state, event);
    return encoder.encode(JSON.stringify(state));
  });
}

export function render(stateBytes, _params) {
  return guarded(() => {
    const state = readJson(stateBytes, 'state');
    return encoder.encode(
      JSON.stringify({
        total_orders: state.total_orders,
        orders_by_status: state.orders_by_status,
        total_revenue: state.revenue_cents / 100,
      }),
    );
  });
}
