// Numbers as JavaScript reads and prints them.
#ifndef ORDER_SUMMARY_NUMBERS_H
#define ORDER_SUMMARY_NUMBERS_H

#include <stdint.h>

// mantissa × 10^exponent as the nearest double (see numbers.c for how exact that is).
double decimal_to_double(uint64_t mantissa, int exponent, int negative);

// Writes `value` as JSON.stringify does (NaN and infinities as null); returns the length.
// `out` needs 32 bytes.
int js_number_text(double value, char *out);

// Writes a whole number in decimal; returns the length. `out` needs 21 bytes.
int integer_text(int64_t value, char *out);

#endif
