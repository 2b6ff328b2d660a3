// Process order: a state change that turns a CreateOrder command into an OrderCreated event,
// unless the customer's available credit (read from the customer-profile view) is too small.
//
// Command (JSON):
//   {"type": "CreateOrder", "order_id": "o-1", "customer_id": "c-1",
//    "items": [{"product_id": "p-1", "quantity": 2, "price": 29.99}]}
// Views: customer-profile, bound to the command's customer_id.
// Decision: one OrderCreated event (subject: the customer, so the profile view sees it), with
//   data {"orderId", "customerId", "total", "items"}. Its id derives from the order id, so a
//   command sent twice stores the order once.
// Rejections:
//   validation INVALID_COMMAND       the command is not a well-formed CreateOrder
//   not-found  UNKNOWN_CUSTOMER      the customer never registered
//   conflict   INSUFFICIENT_CREDIT   the order total is over the available credit
//   internal   MISSING_VIEW          the customer-profile view was not provided
//   internal   INVALID_VIEW          the profile is not what customer-profile renders
//
// Odd views. The profile is read as untrusted input: content that is not a JSON object, a
// `registered` that is not a boolean or an `available_credit` that is not a number is a
// misconfigured deployment (another component published as customer-profile, say), so the
// command is rejected as `internal` naming what is wrong, never decided on a guess: a missing
// credit must not read as "enough". Events the profile skipped (`skipped_events`) do not block
// orders: the profile is what the log says, less the events nobody can read.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Rejection {
  constructor(kind, code, message, details) {
    this.kind = kind;
    this.code = code;
    this.message = message;
    this.details = details === undefined ? undefined : JSON.stringify(details);
  }
}

function parseCommand(body) {
  let command;
  try {
    command = JSON.parse(decoder.decode(body));
  } catch {
    throw new Rejection('validation', 'INVALID_COMMAND', 'the command is not JSON');
  }
  const problems = [];
  if (!command || typeof command !== 'object') problems.push('the command must be an object');
  else {
    if (command.type !== 'CreateOrder') problems.push('type must be "CreateOrder"');
    if (typeof command.order_id !== 'string' || command.order_id === '') problems.push('order_id must be a non-empty string');
    if (typeof command.customer_id !== 'string' || command.customer_id === '') problems.push('customer_id must be a non-empty string');
    if (!Array.isArray(command.items) || command.items.length === 0) problems.push('items must be a non-empty list');
    else
      command.items.forEach((item, i) => {
        if (!item || typeof item.product_id !== 'string') problems.push(`items[${i}].product_id must be a string`);
        if (!item || !Number.isInteger(item.quantity) || item.quantity < 1) problems.push(`items[${i}].quantity must be a positive integer`);
        if (!item || typeof item.price !== 'number' || !(item.price >= 0)) problems.push(`items[${i}].price must be a non-negative number`);
      });
  }
  if (problems.length > 0) throw new Rejection('validation', 'INVALID_COMMAND', problems[0], { problems });
  return command;
}

// The customer-profile view's content, checked to be what that view renders. (It is the
// profile the request's parameters bound, which may be another customer's than the command's:
// the server binds request parameters before command fields.)
function readProfile(views) {
  const view = views.find((v) => v.name === 'customer-profile');
  if (view === undefined) throw new Rejection('internal', 'MISSING_VIEW', 'the customer-profile view was not provided');
  const invalid = (problem) => new Rejection('internal', 'INVALID_VIEW', `the customer-profile view ${problem}`, { view: view.name, version: view.version });
  let profile;
  try {
    profile = JSON.parse(decoder.decode(view.content));
  } catch {
    throw invalid('did not render JSON');
  }
  if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) throw invalid('did not render a JSON object');
  if (typeof profile.registered !== 'boolean') throw invalid('has no boolean "registered"');
  if (profile.registered && (typeof profile.available_credit !== 'number' || !Number.isFinite(profile.available_credit))) {
    throw invalid('has no numeric "available_credit"');
  }
  return profile;
}

// Totals in integer cents, so sums of prices do not drift.
const cents = (amount) => Math.round(amount * 100);

export function decide(command, views) {
  try {
    const order = parseCommand(command.body);
    const profile = readProfile(views);
    if (!profile.registered) {
      throw new Rejection('not-found', 'UNKNOWN_CUSTOMER', `customer ${order.customer_id} is not registered`, { customer_id: order.customer_id });
    }
    const totalCents = order.items.reduce((sum, item) => sum + cents(item.price) * item.quantity, 0);
    const availableCents = cents(profile.available_credit);
    if (totalCents > availableCents) {
      throw new Rejection('conflict', 'INSUFFICIENT_CREDIT', 'Customer credit limit exceeded', {
        available_credit: availableCents / 100,
        order_total: totalCents / 100,
      });
    }
    const data = { orderId: order.order_id, customerId: order.customer_id, total: totalCents / 100, items: order.items };
    return {
      events: [
        {
          specversion: '1.0',
          id: `order-${order.order_id}`,
          source: 'process-order',
          type: 'OrderCreated',
          subject: order.customer_id,
          datacontenttype: 'application/json',
          data: encoder.encode(JSON.stringify(data)),
          extensions: [],
        },
      ],
      constraints: [],
    };
  } catch (err) {
    if (err instanceof Rejection) throw err;
    throw new Rejection('internal', 'INTERNAL', String(err && err.message ? err.message : err));
  }
}
