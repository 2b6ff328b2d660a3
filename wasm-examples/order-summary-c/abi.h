// The canonical ABI of the `state-view` world (wit/factum.wit) as a 32-bit core module sees it,
// written out by hand: no bindings generator is at hand for C here. The build embeds the world
// from the WIT file itself and wit-component checks these exports against it, so a mismatch
// fails the build instead of running.
//
// Layouts follow the canonical ABI: a string or list is (pointer, length); option<T> is a tag
// byte followed by T at T's alignment; a record is laid out field by field, each at its own
// alignment; result<list<u8>, view-error> is a tag byte, then the payload at offset 4.
#ifndef ORDER_SUMMARY_ABI_H
#define ORDER_SUMMARY_ABI_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *ptr;
  uint32_t len;
} wit_bytes; // string and list<u8> alike

typedef struct {
  uint8_t is_some;
  wit_bytes value;
} wit_option_bytes;

typedef struct {
  wit_bytes name;
  wit_bytes value;
} wit_pair; // tuple<string, string>

typedef struct {
  wit_bytes specversion;
  wit_bytes id;
  wit_bytes source;
  wit_bytes type;
  wit_option_bytes subject;
  wit_option_bytes time;
  wit_option_bytes datacontenttype;
  wit_option_bytes dataschema;
  wit_option_bytes data;
  struct {
    const wit_pair *ptr;
    uint32_t len;
  } extensions;
  uint64_t revision;
  wit_bytes recordedtime;
} wit_event;

_Static_assert(offsetof(wit_event, subject) == 32, "option<string> after four strings");
_Static_assert(offsetof(wit_event, data) == 80, "data: option<list<u8>>");
_Static_assert(offsetof(wit_event, extensions) == 92, "extensions: list<tuple<string, string>>");
_Static_assert(offsetof(wit_event, revision) == 104, "revision: u64, 8-aligned");
_Static_assert(sizeof(wit_event) == 120, "the event record's size");

// view-error-kind, in the order the WIT declares it.
enum view_error_kind { VIEW_INVALID_PARAMS = 0, VIEW_INVALID_EVENT = 1, VIEW_INTERNAL = 2 };

// What an export hands back: the new bytes, or an error of some kind with a message.
typedef struct {
  int ok;
  wit_bytes bytes;      // when ok
  uint8_t error_kind;   // when not
  const char *message;  // when not: a static, NUL-terminated text
} view_result;

// Memory for one call. Everything a call allocates (its arguments, lowered by the host through
// cabi_realloc, and its working memory) is let go at once in the call's post-return, since the
// component keeps nothing between calls.
void *arena_alloc(size_t size, size_t align);

// The three functions of the world, on plain C types (view.c).
view_result view_initial_state(void);
view_result view_evolve(wit_bytes state, const wit_event *events, uint32_t count);
view_result view_render(wit_bytes state);

#endif
