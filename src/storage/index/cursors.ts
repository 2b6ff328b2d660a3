/** Cursors over revisions: ranges, posting lists and ordered merges of them, in either direction. */
import type { Posting } from './posting-lists.ts';

/** A source of candidate revisions in one direction, within inclusive bounds. */
export type Cursor = () => number | undefined;

export const emptyCursor: Cursor = () => undefined;

export function rangeCursor(from: number, to: number, forward: boolean): Cursor {
  let rev = forward ? from : to;
  return forward ? () => (rev <= to ? rev++ : undefined) : () => (rev >= from ? rev-- : undefined);
}

export function postingCursor({ buf, start, length }: Posting, from: number, to: number, forward: boolean): Cursor {
  const end = start + length;
  if (forward) {
    let pos = lowerBound(buf, start, end, from);
    return () => {
      if (pos >= end) return undefined;
      const rev = buf[pos++]!;
      return rev <= to ? rev : undefined;
    };
  }
  let pos = lowerBound(buf, start, end, to + 1) - 1;
  return () => {
    if (pos < start) return undefined;
    const rev = buf[pos--]!;
    return rev >= from ? rev : undefined;
  };
}

/** First position in `buf[lo .. hi)` (ascending) whose value is ≥ v. */
export function lowerBound(buf: Uint32Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (buf[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Merges ordered cursors into one ordered cursor without repeats. */
export function mergeCursors(cursors: Cursor[], forward: boolean): Cursor {
  if (cursors.length === 0) return emptyCursor;
  if (cursors.length === 1) return cursors[0]!;
  const heads = cursors.map((c) => c());
  let last: number | undefined;
  return () => {
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h === undefined) continue;
        if (best < 0 || (forward ? h < heads[best]! : h > heads[best]!)) best = i;
      }
      if (best < 0) return undefined;
      const rev = heads[best]!;
      heads[best] = cursors[best]!();
      if (rev !== last) {
        last = rev;
        return rev;
      }
    }
  };
}
