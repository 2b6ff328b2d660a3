// Decimal to double for JSON's numbers, and ECMAScript's Number::toString for the rendered ones.
//
// Reading is correctly rounded for up to 19 significant digits with exponents within ±22 (every
// amount of money); beyond that it goes through 113-bit long double arithmetic, which can round
// differently only for a decimal lying almost exactly halfway between two doubles.
//
// Printing is exact for what the view renders in practice, amounts of whole cents below
// 2^45 cents (about 350 billion): their shortest round-trip text is the plain decimal with two
// places, trailing zeros dropped. Other values take the shortest digits that read back to the
// same double, found with long double arithmetic.
#include "numbers.h"

static const double EXACT_POWERS[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static long double power_of_ten(int exponent) {
  long double result = 1.0L, base = 10.0L;
  for (unsigned e = (unsigned)exponent; e != 0; e >>= 1, base *= base)
    if (e & 1) result *= base;
  return result;
}

double decimal_to_double(uint64_t mantissa, int exponent, int negative) {
  double value;
  if (mantissa == 0) value = 0.0;
  else if (mantissa <= (1ull << 53) && exponent >= -22 && exponent <= 22)
    // Both operands are exact doubles, so one IEEE operation rounds correctly.
    value = exponent >= 0 ? (double)mantissa * EXACT_POWERS[exponent] : (double)mantissa / EXACT_POWERS[-exponent];
  else if (exponent > 330) value = __builtin_inf();
  else if (exponent < -360) value = 0.0;
  else
    value = exponent >= 0 ? (double)((long double)mantissa * power_of_ten(exponent))
                          : (double)((long double)mantissa / power_of_ten(-exponent));
  return negative ? -value : value;
}

int integer_text(int64_t value, char *out) {
  char digits[20];
  int n = 0, len = 0;
  uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  do {
    digits[n++] = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (value < 0) out[len++] = '-';
  while (n > 0) out[len++] = digits[--n];
  return len;
}

// Whole cents: the integer part, then up to two places without trailing zeros.
static int cents_text(int64_t cents, char *out) {
  int len = 0;
  if (cents < 0) {
    out[len++] = '-';
    cents = -cents;
  }
  len += integer_text(cents / 100, out + len);
  int rest = (int)(cents % 100);
  if (rest != 0) {
    out[len++] = '.';
    out[len++] = (char)('0' + rest / 10);
    if (rest % 10 != 0) out[len++] = (char)('0' + rest % 10);
  }
  return len;
}

// The shortest digits (at most 17) that read back as `value` (> 0); *point is the decimal
// exponent n of ECMAScript's algorithm (value = 0.digits × 10^n).
static int shortest_digits(double value, char *digits, int *point) {
  long double v = value;
  int e = 0; // 10^e <= v < 10^(e+1)
  while (e < 308 && power_of_ten(e + 1) <= v) e++;
  while (e > -324 && (e >= 0 ? power_of_ten(e) : 1.0L / power_of_ten(-e)) > v) e--;
  uint64_t best = 0;
  int scale = 0;
  for (int p = 1; p <= 17; p++) {
    int shift = e - p + 1; // v / 10^shift has p digits before the point
    long double scaled = shift >= 0 ? v / power_of_ten(shift) : v * power_of_ten(-shift);
    uint64_t d = (uint64_t)scaled;
    long double fraction = scaled - (long double)d;
    if (fraction > 0.5L || (fraction == 0.5L && (d & 1))) d++;
    if (decimal_to_double(d, shift, 0) == value) {
      best = d;
      scale = shift;
      break;
    }
    if (p == 17) {
      best = d;
      scale = shift;
    }
  }
  // Rounding up may have carried into a new digit (9.99… → 10.0…).
  char text[21];
  int n = integer_text((int64_t)best, text);
  while (n > 1 && text[n - 1] == '0') {
    n--;
    scale++;
  }
  for (int i = 0; i < n; i++) digits[i] = text[i];
  *point = scale + n;
  return n;
}

int js_number_text(double value, char *out) {
  if (value != value || value == __builtin_inf() || value == -__builtin_inf()) {
    __builtin_memcpy(out, "null", 4);
    return 4;
  }
  if (value == 0) { // and -0
    out[0] = '0';
    return 1;
  }
  // value * 100 need not be whole even when value came from whole cents (0.07 * 100 is not 7),
  // so round it and check that dividing gives value back.
  double cents = __builtin_floor(value * 100 + 0.5);
  if (cents > -35184372088832.0 && cents < 35184372088832.0 && cents / 100 == value) return cents_text((int64_t)cents, out);
  int len = 0;
  if (value < 0) {
    out[len++] = '-';
    value = -value;
  }
  char digits[17];
  int n_exp;
  int k = shortest_digits(value, digits, &n_exp);
  if (k <= n_exp && n_exp <= 21) {
    for (int i = 0; i < k; i++) out[len++] = digits[i];
    for (int i = k; i < n_exp; i++) out[len++] = '0';
  } else if (0 < n_exp && n_exp <= 21) {
    for (int i = 0; i < k; i++) {
      if (i == n_exp) out[len++] = '.';
      out[len++] = digits[i];
    }
  } else if (-6 < n_exp && n_exp <= 0) {
    out[len++] = '0';
    out[len++] = '.';
    for (int i = n_exp; i < 0; i++) out[len++] = '0';
    for (int i = 0; i < k; i++) out[len++] = digits[i];
  } else {
    out[len++] = digits[0];
    if (k > 1) {
      out[len++] = '.';
      for (int i = 1; i < k; i++) out[len++] = digits[i];
    }
    out[len++] = 'e';
    out[len++] = n_exp - 1 < 0 ? '-' : '+';
    len += integer_text(n_exp - 1 < 0 ? 1 - n_exp : n_exp - 1, out + len);
  }
  return len;
}
