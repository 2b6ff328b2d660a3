// Reads the two fields order-summary uses from an event's JSON data, with the rules of
// JavaScript's `JSON.parse(new TextDecoder().decode(bytes))`, so that the compiled view accepts
// and refuses exactly what the JavaScript view does.
#ifndef ORDER_SUMMARY_ORDER_DATA_H
#define ORDER_SUMMARY_ORDER_DATA_H

#include "abi.h"

enum data_outcome { DATA_OBJECT, DATA_NOT_JSON, DATA_NOT_OBJECT };

// The JSON type of a member's value, as far as the view cares.
enum field_kind { FIELD_ABSENT, FIELD_STRING, FIELD_NUMBER, FIELD_OTHER };

typedef struct {
  enum field_kind order_id_kind;
  wit_bytes order_id; // decoded UTF-8 (lone surrogates from escapes as three bytes each)
  enum field_kind total_kind;
  double total;
} order_fields;

// Parses the whole text; fills `fields` from the top-level object (the last of duplicate keys
// wins, as in JSON.parse).
enum data_outcome read_order_data(wit_bytes data, order_fields *fields);

#endif
