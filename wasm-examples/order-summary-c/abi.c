// The world's exports, `cabi_realloc` and the post-return functions, over a bump arena.
#include "abi.h"

#include <string.h>

#define PAGE_BYTES 65536u

extern unsigned char __heap_base;

static uintptr_t arena_start;
static uintptr_t arena_next;
static uintptr_t arena_end;
static uintptr_t last_alloc; // the latest allocation, which cabi_realloc may grow in place

void *arena_alloc(size_t size, size_t align) {
  if (arena_start == 0) arena_start = arena_next = arena_end = (uintptr_t)&__heap_base;
  if (align == 0) align = 1;
  uintptr_t at = (arena_next + (align - 1)) & ~(uintptr_t)(align - 1);
  if (at + size < at) __builtin_trap();
  if (at + size > arena_end) {
    size_t missing = at + size - arena_end;
    size_t pages = (missing + PAGE_BYTES - 1) / PAGE_BYTES;
    // Grow by at least a quarter of what there is, so a large call grows memory a few times, not
    // once per page.
    size_t have = arena_end / PAGE_BYTES;
    if (pages < have / 4) pages = have / 4;
    // A failed grow means the host's memory limit: trap, and the host reports it as such.
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
    arena_end = __builtin_wasm_memory_size(0) * PAGE_BYTES;
  }
  arena_next = at + size;
  last_alloc = at;
  return (void *)at;
}

static void arena_reset(void) {
  arena_next = arena_start;
  last_alloc = 0;
}

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  if (old != NULL && (uintptr_t)old == last_alloc && (uintptr_t)old + new_size <= arena_end) {
    arena_next = (uintptr_t)old + new_size;
    return old;
  }
  void *fresh = arena_alloc(new_size, align);
  if (old != NULL) memcpy(fresh, old, old_size < new_size ? old_size : new_size);
  return fresh;
}

// result<list<u8>, view-error>: tag at 0, then list<u8> (ok) or {kind, message} (error) at 4.
static _Alignas(4) uint8_t return_area[16];

static uint8_t *lower_result(view_result result) {
  uint32_t *words = (uint32_t *)return_area;
  if (result.ok) {
    return_area[0] = 0;
    words[1] = (uint32_t)(uintptr_t)result.bytes.ptr;
    words[2] = result.bytes.len;
  } else {
    return_area[0] = 1;
    return_area[4] = result.error_kind;
    words[2] = (uint32_t)(uintptr_t)result.message;
    words[3] = (uint32_t)strlen(result.message);
  }
  return return_area;
}

// Parameters are part of the world's signatures; order-summary takes none and ignores them.

__attribute__((export_name("initial-state"))) uint8_t *export_initial_state(const wit_pair *params, uint32_t params_len) {
  (void)params;
  (void)params_len;
  return lower_result(view_initial_state());
}

__attribute__((export_name("evolve"))) uint8_t *export_evolve(const uint8_t *state, uint32_t state_len, const wit_event *events,
                                                                uint32_t events_len, const wit_pair *params, uint32_t params_len) {
  (void)params;
  (void)params_len;
  return lower_result(view_evolve((wit_bytes){state, state_len}, events, events_len));
}

__attribute__((export_name("render"))) uint8_t *export_render(const uint8_t *state, uint32_t state_len, const wit_pair *params,
                                                                uint32_t params_len) {
  (void)params;
  (void)params_len;
  return lower_result(view_render((wit_bytes){state, state_len}));
}

// The host has copied the result out: the call's memory can be reused.
__attribute__((export_name("cabi_post_initial-state"))) void post_initial_state(uint8_t *ret) {
  (void)ret;
  arena_reset();
}
__attribute__((export_name("cabi_post_evolve"))) void post_evolve(uint8_t *ret) {
  (void)ret;
  arena_reset();
}
__attribute__((export_name("cabi_post_render"))) void post_render(uint8_t *ret) {
  (void)ret;
  arena_reset();
}
