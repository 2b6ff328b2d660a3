// Order summary, compiled from C: the same reducer as ../order-summary/view.js, rendering the
// same bytes for the same events (test/wasm/compiled-view.test.ts compares them). Read that
// file for the view's rules; this one follows them step by step:
// - events of other types are ignored;
// - an order event whose data cannot be read (none, not JSON, not an object, an `orderId`
//   that is not a non-empty string, a `total` that is not a finite non-negative number:
//   required on OrderCreated) is skipped, counted and named in `last_skipped_event`;
// - amounts are kept in whole cents, rounded as Math.round(total * 100) rounds, and summed as
//   doubles, as JavaScript numbers are.
//
// What differs is the state, which the host treats as opaque bytes: a binary record instead of
// JSON text, so a call reads and writes it without parsing or printing numbers. Its first four
// bytes name the format, and a state that is not in it is refused as `internal`.
#include <string.h>

#include "abi.h"
#include "numbers.h"
#include "order_data.h"

enum status { CREATED, COMPLETED, CANCELLED };
static const char *const STATUS_NAMES[] = {"created", "completed", "cancelled"};

// The reasons of view.js, word for word: they are part of the rendered content.
enum reason { NO_DATA, NOT_JSON, NOT_OBJECT, BAD_ORDER_ID, BAD_TOTAL };
static const char *const REASONS[] = {"it has no data", "its data is not JSON", "its data is not a JSON object",
                                      "orderId is not a non-empty string", "total is not a non-negative number"};

typedef struct {
  wit_bytes id;
  uint8_t status;
  double total_cents;
} order;

typedef struct {
  int64_t total_orders;
  int64_t by_status[3];
  double revenue_cents;
  int64_t skipped_events;
  uint8_t has_last_skipped;
  uint8_t last_reason;
  double last_revision; // Number(revision), as view.js keeps it
  wit_bytes last_id;
  wit_bytes last_type;
  // Orders in the order they were first seen, found by id through an open-addressing table.
  order *orders;
  uint32_t order_count;
  uint32_t order_capacity;
  uint32_t *slots; // index + 1, 0 for empty
  uint32_t slot_mask;
} summary;

// ---- the state's bytes ----------------------------------------------------------------------
// "OSC1", u32 order count, i64 total orders, i64 × 3 by status, f64 revenue in cents,
// i64 skipped, u8 has-last, u8 reason, f64 last revision, u32 id length, u32 type length, the
// id, the type; then per order: u32 id length, u8 status, f64 total in cents, the id.
// Little-endian, unaligned, as WebAssembly memory is.
static const uint8_t MAGIC[4] = {'O', 'S', 'C', '1'};
#define HEADER_BYTES (4 + 4 + 8 + 24 + 8 + 8 + 1 + 1 + 8 + 4 + 4)
#define ORDER_BYTES (4 + 1 + 8)

typedef struct {
  const uint8_t *p, *end;
  int ok;
} reader;

static void take(reader *r, void *to, size_t n) {
  if (!r->ok || (size_t)(r->end - r->p) < n) {
    r->ok = 0;
    memset(to, 0, n);
    return;
  }
  memcpy(to, r->p, n);
  r->p += n;
}

static wit_bytes take_bytes(reader *r, uint32_t n) {
  wit_bytes out = {r->p, 0};
  if (!r->ok || (size_t)(r->end - r->p) < n) r->ok = 0;
  else {
    out.len = n;
    r->p += n;
  }
  return out;
}

static uint32_t hash_id(wit_bytes id) {
  uint32_t h = 2166136261u; // FNV-1a
  for (uint32_t i = 0; i < id.len; i++) h = (h ^ id.ptr[i]) * 16777619u;
  return h;
}

static uint32_t *slot_of(summary *s, wit_bytes id) {
  for (uint32_t i = hash_id(id) & s->slot_mask;; i = (i + 1) & s->slot_mask) {
    uint32_t *slot = &s->slots[i];
    if (*slot == 0) return slot;
    order *o = &s->orders[*slot - 1];
    if (o->id.len == id.len && memcmp(o->id.ptr, id.ptr, id.len) == 0) return slot;
  }
}

// Room for `capacity` orders: the table stays at most half full, so probes stay short.
static void reserve(summary *s, uint32_t capacity) {
  s->orders = arena_alloc(sizeof(order) * (capacity ? capacity : 1), _Alignof(order));
  s->order_capacity = capacity;
  uint32_t slots = 16;
  while (slots < 2 * (uint64_t)capacity) slots *= 2;
  s->slots = arena_alloc(sizeof(uint32_t) * slots, 4);
  memset(s->slots, 0, sizeof(uint32_t) * slots);
  s->slot_mask = slots - 1;
}

// Reads a state, leaving room for `extra` more orders.
static int read_state(wit_bytes state, uint32_t extra, summary *s) {
  reader r = {state.ptr, state.ptr + state.len, 1};
  uint8_t magic[4];
  uint32_t count, id_len, type_len;
  take(&r, magic, 4);
  if (!r.ok || memcmp(magic, MAGIC, 4) != 0) return 0;
  take(&r, &count, 4);
  take(&r, &s->total_orders, 8);
  take(&r, s->by_status, 24);
  take(&r, &s->revenue_cents, 8);
  take(&r, &s->skipped_events, 8);
  take(&r, &s->has_last_skipped, 1);
  take(&r, &s->last_reason, 1);
  take(&r, &s->last_revision, 8);
  take(&r, &id_len, 4);
  take(&r, &type_len, 4);
  s->last_id = take_bytes(&r, id_len);
  s->last_type = take_bytes(&r, type_len);
  if (!r.ok || s->last_reason > BAD_TOTAL || count > state.len / ORDER_BYTES) return 0;
  reserve(s, count + extra);
  s->order_count = 0;
  for (uint32_t i = 0; i < count; i++) {
    order *o = &s->orders[i];
    take(&r, &id_len, 4);
    take(&r, &o->status, 1);
    take(&r, &o->total_cents, 8);
    o->id = take_bytes(&r, id_len);
    if (!r.ok || o->status > CANCELLED) return 0;
    uint32_t *slot = slot_of(s, o->id);
    if (*slot != 0) return 0; // the same order twice: not a state this view wrote
    *slot = ++s->order_count;
  }
  return r.ok && r.p == r.end;
}

static uint8_t *put(uint8_t *w, const void *from, size_t n) {
  memcpy(w, from, n);
  return w + n;
}

static wit_bytes write_state(const summary *s) {
  size_t size = HEADER_BYTES + s->last_id.len + s->last_type.len;
  for (uint32_t i = 0; i < s->order_count; i++) size += ORDER_BYTES + s->orders[i].id.len;
  uint8_t *out = arena_alloc(size, 1), *w = out;
  uint32_t count = s->order_count;
  w = put(w, MAGIC, 4);
  w = put(w, &count, 4);
  w = put(w, &s->total_orders, 8);
  w = put(w, s->by_status, 24);
  w = put(w, &s->revenue_cents, 8);
  w = put(w, &s->skipped_events, 8);
  w = put(w, &s->has_last_skipped, 1);
  w = put(w, &s->last_reason, 1);
  w = put(w, &s->last_revision, 8);
  w = put(w, &s->last_id.len, 4);
  w = put(w, &s->last_type.len, 4);
  w = put(w, s->last_id.ptr, s->last_id.len);
  w = put(w, s->last_type.ptr, s->last_type.len);
  for (uint32_t i = 0; i < count; i++) {
    const order *o = &s->orders[i];
    w = put(w, &o->id.len, 4);
    w = put(w, &o->status, 1);
    w = put(w, &o->total_cents, 8);
    w = put(w, o->id.ptr, o->id.len);
  }
  return (wit_bytes){out, (uint32_t)size};
}

// ---- the reducer ----------------------------------------------------------------------------

static int is_type(wit_bytes type, const char *name) {
  size_t n = strlen(name);
  return type.len == n && memcmp(type.ptr, name, n) == 0;
}

static void skip(summary *s, const wit_event *event, enum reason reason) {
  s->skipped_events += 1;
  s->has_last_skipped = 1;
  s->last_reason = (uint8_t)reason;
  s->last_revision = (double)event->revision;
  s->last_id = event->id;
  s->last_type = event->type;
}

// Math.round for a non-negative number: halves go up.
static double js_round(double x) {
  double whole = __builtin_floor(x);
  return x - whole >= 0.5 ? whole + 1 : whole;
}

static void apply(summary *s, const wit_event *event) {
  int status;
  if (is_type(event->type, "OrderCreated")) status = CREATED;
  else if (is_type(event->type, "OrderCompleted")) status = COMPLETED;
  else if (is_type(event->type, "OrderCancelled")) status = CANCELLED;
  else return; // not an order event: this view does not care
  if (!event->data.is_some) return skip(s, event, NO_DATA);
  order_fields data;
  switch (read_order_data(event->data.value, &data)) {
  case DATA_NOT_JSON: return skip(s, event, NOT_JSON);
  case DATA_NOT_OBJECT: return skip(s, event, NOT_OBJECT);
  case DATA_OBJECT: break;
  }
  if (data.order_id_kind != FIELD_STRING || data.order_id.len == 0) return skip(s, event, BAD_ORDER_ID);
  int has_total = data.total_kind != FIELD_ABSENT;
  if (has_total || status == CREATED) {
    if (data.total_kind != FIELD_NUMBER || data.total != data.total || data.total == __builtin_inf() || data.total < 0)
      return skip(s, event, BAD_TOTAL);
  }
  double total_cents = has_total ? js_round(data.total * 100) : 0;

  uint32_t *slot = slot_of(s, data.order_id);
  order *o;
  if (*slot == 0) {
    // A completion or cancellation for an order this view never saw created still counts.
    o = &s->orders[s->order_count];
    *o = (order){data.order_id, (uint8_t)status, total_cents};
    *slot = ++s->order_count;
    s->total_orders += 1;
  } else {
    o = &s->orders[*slot - 1];
    s->by_status[o->status] -= 1;
    if (o->status == COMPLETED) s->revenue_cents -= o->total_cents;
    if (has_total) o->total_cents = total_cents;
    o->status = (uint8_t)status;
  }
  s->by_status[status] += 1;
  if (status == COMPLETED) s->revenue_cents += o->total_cents;
}

static view_result bad_state(void) {
  return (view_result){.ok = 0, .error_kind = VIEW_INTERNAL, .message = "the state is not an order-summary state"};
}

view_result view_initial_state(void) {
  summary s;
  memset(&s, 0, sizeof s);
  return (view_result){.ok = 1, .bytes = write_state(&s)};
}

view_result view_evolve(wit_bytes state, const wit_event *events, uint32_t count) {
  summary s;
  // Every event may add an order, so the table is sized for all of them up front.
  if (!read_state(state, count, &s)) return bad_state();
  for (uint32_t i = 0; i < count; i++) apply(&s, &events[i]);
  return (view_result){.ok = 1, .bytes = write_state(&s)};
}

// ---- rendering, byte for byte as JSON.stringify writes view.js's content ---------------------

static char *text(char *w, const char *literal) {
  size_t n = strlen(literal);
  memcpy(w, literal, n);
  return w + n;
}

// A JSON string as JSON.stringify escapes it (WIT strings are valid UTF-8: no lone surrogates).
static char *json_string(char *w, wit_bytes s) {
  static const char HEX[] = "0123456789abcdef";
  *w++ = '"';
  for (uint32_t i = 0; i < s.len; i++) {
    uint8_t ch = s.ptr[i];
    const char *escape = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\b' ? "\\b" : ch == '\f' ? "\\f"
                       : ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : NULL;
    if (escape != NULL) w = text(w, escape);
    else if (ch < 0x20) {
      w = text(w, "\\u00");
      *w++ = HEX[ch >> 4];
      *w++ = HEX[ch & 15];
    } else *w++ = (char)ch;
  }
  *w++ = '"';
  return w;
}

static char *integer(char *w, int64_t value) { return w + integer_text(value, w); }

view_result view_render(wit_bytes state) {
  summary s;
  if (!read_state(state, 0, &s)) return bad_state();
  // Fixed text and numbers fit in 512 bytes; an escaped byte takes at most 6.
  char *out = arena_alloc(512 + 6 * ((size_t)s.last_id.len + s.last_type.len), 1), *w = out;
  w = text(w, "{\"total_orders\":");
  w = integer(w, s.total_orders);
  w = text(w, ",\"orders_by_status\":{");
  for (int i = 0; i < 3; i++) {
    w = text(w, i == 0 ? "\"" : ",\"");
    w = text(w, STATUS_NAMES[i]);
    w = text(w, "\":");
    w = integer(w, s.by_status[i]);
  }
  w = text(w, "},\"total_revenue\":");
  w += js_number_text(s.revenue_cents / 100, w);
  if (s.skipped_events > 0) {
    w = text(w, ",\"skipped_events\":");
    w = integer(w, s.skipped_events);
    w = text(w, ",\"last_skipped_event\":{\"revision\":");
    w += js_number_text(s.last_revision, w);
    w = text(w, ",\"id\":");
    w = json_string(w, s.last_id);
    w = text(w, ",\"type\":");
    w = json_string(w, s.last_type);
    w = text(w, ",\"reason\":\"");
    w = text(w, REASONS[s.last_reason]);
    w = text(w, "\"}");
  }
  w = text(w, "}");
  return (view_result){.ok = 1, .bytes = {(const uint8_t *)out, (uint32_t)(w - out)}};
}
