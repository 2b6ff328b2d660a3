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

function readJson(bytes, what) {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ViewError('internal', `${what} is not valid JSON`);
  }
}

function eventData(event) {
  const data = event.data === undefined ? undefined : readJson(event.data, `data of event ${event.id}`);
  if (!data || typeof data !== 'object') {
    throw new ViewError('invalid-event', `event ${event.id} (revision ${event.revision}) has no JSON object data`);
  }
  return data;
}

function toCents(amount) {
  return typeof amount === 'number' && Number.isFinite(amount) ? Math.round(amount * 100) : 0;
}

function apply(state, event) {
  switch (event.type) {
    case 'CustomerRegistered': {
      const data = eventData(event);
      if (data.customerId !== state.customer_id) return;
      state.registered = true;
      state.name = typeof data.name === 'string' ? data.name : null;
      state.credit_limit_cents = toCents(data.creditLimit);
      return;
    }
    case 'CreditLimitChanged': {
      const data = eventData(event);
      if (data.customerId !== state.customer_id) return;
      state.credit_limit_cents = toCents(data.creditLimit);
      return;
    }
    case 'OrderCreated': {
      const data = eventData(event);
      if (data.customerId !== state.customer_id || typeof data.orderId !== 'string') return;
      if (state.orders[data.orderId] !== undefined) return; // already counted
      const cents = toCents(data.total);
      state.orders[data.orderId] = cents;
      state.order_count += 1;
      state.spent_cents += cents;
      return;
    }
    case 'OrderCancelled': {
      const data = eventData(event);
      const cents = state.orders[data.orderId];
      if (cents === undefined || cents === null) return; // not this customer's, or already cancelled
      state.orders[data.orderId] = null;
      state.order_count -= 1;
      state.spent_cents -= cents;
      return;
    }
    default:
      return;
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
    };
    return encoder.encode(JSON.stringify(state));
  });
}

export function evolve(stateBytes, events, params) {
  return guarded(() => {
    const state = readJson(stateBytes, 'state');
    if (state.customer_id !== customerId(params)) {
      throw new ViewError('invalid-params', 'customer_id differs from the one the state was built for');
    }
    for (const event of events) apply(state, event);
    return encoder.encode(JSON.stringify(state));
  });
}

export function render(stateBytes, _params) {
  return guarded(() => {
    const state = readJson(stateBytes, 'state');
    return encoder.encode(
      JSON.stringify({
        customer_id: state.customer_id,
        registered: state.registered,
        name: state.name,
        credit_limit: state.credit_limit_cents / 100,
        order_count: state.order_count,
        total_spent: state.spent_cents / 100,
        available_credit: (state.credit_limit_cents - state.spent_cents) / 100,
      }),
    );
  });
}
