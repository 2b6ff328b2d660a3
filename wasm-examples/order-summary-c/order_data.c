// A validating JSON reader for one event's data. It keeps only `orderId` and `total` of the
// top-level object and checks the rest without building anything.
//
// Text decoding mirrors TextDecoder: a leading byte order mark is dropped, and inside strings an
// invalid UTF-8 sequence reads as U+FFFD (outside strings any such byte is a syntax error in
// both). Numbers are read the way JSON.parse reads them, correctly rounded for up to 19
// significant digits with exponents within ±22 (every amount of money); beyond that through
// 113-bit long double arithmetic, which can round differently only for a decimal lying almost
// exactly halfway between two doubles.
#include "order_data.h"
#include "numbers.h"

#include <string.h>

typedef struct {
  const uint8_t *p;
  const uint8_t *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int peek(const cursor *c) { return c->p < c->end ? *c->p : -1; }

static int hex_digit(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static uint8_t *put_utf8(uint8_t *out, uint32_t cp) {
  if (cp < 0x80) {
    *out++ = (uint8_t)cp;
  } else if (cp < 0x800) {
    *out++ = (uint8_t)(0xC0 | (cp >> 6));
    *out++ = (uint8_t)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out++ = (uint8_t)(0xE0 | (cp >> 12));
    *out++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    *out++ = (uint8_t)(0x80 | (cp & 0x3F));
  } else {
    *out++ = (uint8_t)(0xF0 | (cp >> 18));
    *out++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    *out++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    *out++ = (uint8_t)(0x80 | (cp & 0x3F));
  }
  return out;
}

// Length of the valid UTF-8 sequence at p (1 to 4), or 0 for the WHATWG decoder's maximal
// invalid subpart, whose length goes to *bad.
static int utf8_sequence(const uint8_t *p, const uint8_t *end, int *bad) {
  uint8_t b = p[0];
  int need;
  uint8_t lower = 0x80, upper = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) need = 1;
  else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lower = 0xA0;
    if (b == 0xED) upper = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lower = 0x90;
    if (b == 0xF4) upper = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (int i = 1; i <= need; i++) {
    if (p + i >= end || p[i] < lower || p[i] > upper) {
      *bad = i;
      return 0;
    }
    lower = 0x80;
    upper = 0xBF;
  }
  return need + 1;
}

// Reads a string at c->p (the opening quote). With `out`, also decodes it into an arena buffer;
// returns 0 on a syntax error.
static int read_string(cursor *c, wit_bytes *out) {
  const uint8_t *start = ++c->p;
  int plain = 1; // no escapes and valid UTF-8: the text is its own decoding
  while (c->p < c->end) {
    uint8_t ch = *c->p;
    if (ch == '"') break;
    if (ch < 0x20) return 0;
    if (ch == '\\') {
      plain = 0;
      if (c->end - c->p < 2) return 0;
      uint8_t e = c->p[1];
      if (e == 'u') {
        if (c->end - c->p < 6) return 0;
        for (int i = 2; i < 6; i++)
          if (hex_digit(c->p[i]) < 0) return 0;
        c->p += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        c->p += 2;
      } else {
        return 0;
      }
    } else if (ch < 0x80) {
      c->p++;
    } else {
      int bad = 0;
      int n = utf8_sequence(c->p, c->end, &bad);
      if (n == 0) {
        plain = 0;
        n = bad;
      }
      c->p += n;
    }
  }
  if (c->p >= c->end) return 0;
  const uint8_t *stop = c->p++;
  if (out == NULL) return 1;
  if (plain) {
    *out = (wit_bytes){start, (uint32_t)(stop - start)};
    return 1;
  }
  // An escape decodes to fewer bytes than it takes; U+FFFD (3 bytes) may stand for a single
  // byte: 3 bytes out per byte in is enough.
  uint8_t *buf = arena_alloc((size_t)(stop - start) * 3 + 1, 1), *w = buf;
  for (const uint8_t *p = start; p < stop;) {
    if (*p == '\\') {
      uint8_t e = p[1];
      if (e != 'u') {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        *w++ = (uint8_t)to[strchr(from, e) - from];
        p += 2;
        continue;
      }
      uint32_t unit = 0;
      for (int i = 2; i < 6; i++) unit = unit * 16 + (uint32_t)hex_digit(p[i]);
      p += 6;
      // A high surrogate escape followed by a low one is one code point, as in a JS string.
      if (unit >= 0xD800 && unit <= 0xDBFF && stop - p >= 6 && p[0] == '\\' && p[1] == 'u') {
        uint32_t low = 0;
        for (int i = 2; i < 6; i++) low = low * 16 + (uint32_t)hex_digit(p[i]);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          p += 6;
        }
      }
      w = put_utf8(w, unit);
    } else if (*p < 0x80) {
      *w++ = *p++;
    } else {
      int bad = 0;
      int n = utf8_sequence(p, stop, &bad);
      if (n > 0) {
        memcpy(w, p, (size_t)n);
        w += n;
        p += n;
      } else {
        w = put_utf8(w, 0xFFFD);
        p += bad;
      }
    }
  }
  *out = (wit_bytes){buf, (uint32_t)(w - buf)};
  return 1;
}

// Reads a number (JSON grammar); with `value`, also converts it.
static int read_number(cursor *c, double *value) {
  int negative = 0;
  uint64_t mantissa = 0;
  int digits = 0, exponent = 0;
  if (peek(c) == '-') {
    negative = 1;
    c->p++;
  }
  int ch = peek(c);
  if (ch < '0' || ch > '9') return 0;
  // Significant digits beyond 19 do not fit; they only nudge the exponent (and, rarely, the
  // rounding: see the file's comment).
#define TAKE_DIGIT(d, in_fraction)                                 \
  do {                                                             \
    if (digits < 19) {                                             \
      if (mantissa != 0 || (d) != 0) {                             \
        mantissa = mantissa * 10 + (uint64_t)(d);                  \
        if (mantissa != 0) digits++;                               \
      }                                                            \
      if (in_fraction) exponent--;                                 \
    } else {                                                       \
      if (!(in_fraction)) exponent++;                              \
    }                                                              \
  } while (0)
  if (ch == '0') {
    c->p++;
  } else {
    while ((ch = peek(c)) >= '0' && ch <= '9') {
      TAKE_DIGIT(ch - '0', 0);
      c->p++;
    }
  }
  if (peek(c) == '.') {
    c->p++;
    ch = peek(c);
    if (ch < '0' || ch > '9') return 0;
    while ((ch = peek(c)) >= '0' && ch <= '9') {
      TAKE_DIGIT(ch - '0', 1);
      c->p++;
    }
  }
#undef TAKE_DIGIT
  if (peek(c) == 'e' || peek(c) == 'E') {
    c->p++;
    int exp_negative = 0, exp = 0;
    if (peek(c) == '+' || peek(c) == '-') exp_negative = *c->p++ == '-';
    ch = peek(c);
    if (ch < '0' || ch > '9') return 0;
    while ((ch = peek(c)) >= '0' && ch <= '9') {
      if (exp < 100000) exp = exp * 10 + (ch - '0');
      c->p++;
    }
    exponent += exp_negative ? -exp : exp;
  }
  if (value != NULL) *value = decimal_to_double(mantissa, exponent, negative);
  return 1;
}

static int read_literal(cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
  c->p += n;
  return 1;
}

// Reads one value of any kind without keeping it. Nesting is tracked on an explicit stack, so
// deep data cannot exhaust the call stack.
static int skip_value(cursor *c) {
  uint8_t small_stack[64];
  uint8_t *stack = small_stack;
  size_t depth = 0, capacity = sizeof small_stack;
  for (;;) {
    skip_ws(c);
    int ch = peek(c);
    if (ch == '{' || ch == '[') {
      c->p++;
      if (depth == capacity) {
        // Each level takes at least one byte of text, so the rest of the text bounds the depth.
        size_t bound = depth + (size_t)(c->end - c->p) + 1;
        uint8_t *larger = arena_alloc(bound, 1);
        memcpy(larger, stack, depth);
        stack = larger;
        capacity = bound;
      }
      stack[depth++] = (uint8_t)ch;
      skip_ws(c);
      if (peek(c) == (ch == '{' ? '}' : ']')) {
        c->p++;
        depth--;
      } else {
        if (ch == '{') {
          if (peek(c) != '"' || !read_string(c, NULL)) return 0;
          skip_ws(c);
          if (peek(c) != ':') return 0;
          c->p++;
        }
        continue; // to the first value inside
      }
    } else if (ch == '"') {
      if (!read_string(c, NULL)) return 0;
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
      if (!read_number(c, NULL)) return 0;
    } else if (!(read_literal(c, "true") || read_literal(c, "false") || read_literal(c, "null"))) {
      return 0;
    }
    // A value ended: close what it ends, or go on to the next one.
    for (;;) {
      if (depth == 0) return 1;
      skip_ws(c);
      uint8_t open = stack[depth - 1];
      ch = peek(c);
      if (ch == (open == '{' ? '}' : ']')) {
        c->p++;
        depth--;
        continue;
      }
      if (ch != ',') return 0;
      c->p++;
      if (open == '{') {
        skip_ws(c);
        if (peek(c) != '"' || !read_string(c, NULL)) return 0;
        skip_ws(c);
        if (peek(c) != ':') return 0;
        c->p++;
      }
      break;
    }
  }
}

static int same(wit_bytes text, const char *word) {
  size_t n = strlen(word);
  return text.len == n && memcmp(text.ptr, word, n) == 0;
}

// One member value of the top-level object: a string for orderId, a number for total.
static int read_member(cursor *c, wit_bytes key, order_fields *fields) {
  skip_ws(c);
  int is_order_id = same(key, "orderId"), is_total = !is_order_id && same(key, "total");
  int ch = peek(c);
  if (is_order_id && ch == '"') {
    fields->order_id_kind = FIELD_STRING;
    return read_string(c, &fields->order_id);
  }
  if (is_total && (ch == '-' || (ch >= '0' && ch <= '9'))) {
    fields->total_kind = FIELD_NUMBER;
    return read_number(c, &fields->total);
  }
  if (is_order_id) fields->order_id_kind = FIELD_OTHER;
  if (is_total) fields->total_kind = FIELD_OTHER;
  return skip_value(c);
}

enum data_outcome read_order_data(wit_bytes data, order_fields *fields) {
  cursor c = {data.ptr, data.ptr + data.len};
  fields->order_id_kind = FIELD_ABSENT;
  fields->total_kind = FIELD_ABSENT;
  if (data.len >= 3 && c.p[0] == 0xEF && c.p[1] == 0xBB && c.p[2] == 0xBF) c.p += 3;
  skip_ws(&c);
  if (peek(&c) != '{') {
    if (!skip_value(&c)) return DATA_NOT_JSON;
    skip_ws(&c);
    return c.p == c.end ? DATA_NOT_OBJECT : DATA_NOT_JSON;
  }
  c.p++;
  skip_ws(&c);
  if (peek(&c) == '}') {
    c.p++;
  } else {
    for (;;) {
      wit_bytes key;
      skip_ws(&c);
      if (peek(&c) != '"' || !read_string(&c, &key)) return DATA_NOT_JSON;
      skip_ws(&c);
      if (peek(&c) != ':') return DATA_NOT_JSON;
      c.p++;
      if (!read_member(&c, key, fields)) return DATA_NOT_JSON;
      skip_ws(&c);
      if (peek(&c) == ',') {
        c.p++;
        continue;
      }
      if (peek(&c) != '}') return DATA_NOT_JSON;
      c.p++;
      break;
    }
  }
  skip_ws(&c);
  return c.p == c.end ? DATA_OBJECT : DATA_NOT_JSON;
}
