/**
 * Where each event of an append body lies in the bytes it arrived as, and whether those bytes are
 * already the text `JSON.stringify` would write for the parsed event. When they are, the stored
 * form is those bytes with the revision and recorded time added, and the event is never
 * serialised again: on a batch of small events, serialising cost more than everything else the
 * store does with them.
 *
 * The body has been parsed (and validated) already, so the bytes are valid JSON; what this module
 * decides is only which events may keep theirs. Anything it is not sure of (whitespace inside an
 * event, escapes other than the ones `JSON.stringify` writes, numbers it would print differently,
 * keys that V8 reorders, repeated keys) makes the event fall back to being serialised.
 */

/** The byte range of one event in the body; `canonical` false means it must be serialised. */
export interface EventSpan {
  start: number;
  end: number;
  canonical: boolean;
  /** Members of every object in the event, counted in the text: a repeated key shows as a surplus. */
  members: number;
}

/** How the events sit in the body: `{"events": [...], ...}`, `[...]`, or the body is one event. */
export type EventBodyForm = 'request' | 'batch' | 'single';

/**
 * The spans of the body's events, in order, or undefined when they cannot be told apart (the
 * caller then serialises every event as before). `body` must be the UTF-8 bytes the events were
 * parsed from.
 */
export function eventSpansOf(body: Uint8Array, form: EventBodyForm): EventSpan[] | undefined {
  const scan = new Scanner(body);
  let p = scan.space(0);
  if (form === 'single') {
    const span = scan.event(p);
    return span && scan.space(span.end) === body.length ? [span] : undefined;
  }
  if (form === 'batch') {
    const spans = scan.eventArray(p);
    return spans && scan.space(scan.pos) === body.length ? spans : undefined;
  }
  // The request form: the last member named "events" is the one JSON.parse kept.
  if (body[p] !== OPEN_BRACE) return undefined;
  let spans: EventSpan[] | undefined;
  p = scan.space(p + 1);
  if (body[p] === CLOSE_BRACE) return undefined;
  for (;;) {
    if (body[p] !== QUOTE) return undefined;
    const keyEnd = scan.string(p);
    if (keyEnd < 0 || scan.escaped) return undefined;
    const isEvents = keyEnd - p === 8 && matches(body, p + 1, EVENTS_KEY);
    p = scan.space(keyEnd);
    if (body[p] !== COLON) return undefined;
    p = scan.space(p + 1);
    if (isEvents) {
      spans = scan.eventArray(p);
      if (!spans) return undefined;
      p = scan.pos;
    } else {
      p = scan.value(p);
      if (p < 0) return undefined;
    }
    p = scan.space(p);
    if (body[p] === COMMA) p = scan.space(p + 1);
    else if (body[p] === CLOSE_BRACE) return scan.space(p + 1) === body.length ? spans : undefined;
    else return undefined;
  }
}

/**
 * Members of every object in a parsed JSON value. Equal to an event span's `members` exactly
 * when the text repeats no key (JSON.parse keeps one of each) and nothing was added after parsing.
 */
export function countMembers(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') n += countMembers(item);
    return n;
  }
  for (const key in value) {
    n++;
    const child = (value as Record<string, unknown>)[key];
    if (child !== null && typeof child === 'object') n += countMembers(child);
  }
  return n;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const EVENTS_KEY = [0x65, 0x76, 0x65, 0x6e, 0x74, 0x73]; // events
/** Deeper than the body nesting limit: never reached by a body that got this far. */
const MAX_DEPTH = 256;
/** Significant digits every double keeps exactly, so such a number prints back as it was written. */
const EXACT_DIGITS = 15;

function matches(body: Uint8Array, at: number, bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (body[at + i] !== bytes[i]) return false;
  return true;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= DIGIT_0 && c <= DIGIT_9;
}

/**
 * Walks JSON text by bytes, with no allocation per value. Positions of -1 mean the text is not
 * what was expected. `canonical` and `members` accumulate over the current event.
 */
class Scanner {
  canonical = true;
  members = 0;
  /** Whether the last string scanned held an escape. */
  escaped = false;
  /** Where the last eventArray() ended. */
  pos = 0;
  /** Whether each open container of value() is an object (1) or an array (0). */
  readonly stack = new Uint8Array(MAX_DEPTH);

  constructor(readonly body: Uint8Array) {}

  space(p: number): number {
    while (isSpace(this.body[p])) p++;
    return p;
  }

  event(p: number): EventSpan | undefined {
    if (this.body[p] !== OPEN_BRACE) return undefined;
    this.canonical = true;
    this.members = 0;
    const end = this.value(p);
    // `{}` has no closing brace to put the revision before: leave it to the serialiser.
    if (end < 0) return undefined;
    return { start: p, end, canonical: this.canonical && end - p > 2, members: this.members };
  }

  eventArray(p: number): EventSpan[] | undefined {
    const body = this.body;
    if (body[p] !== OPEN_BRACKET) return undefined;
    const spans: EventSpan[] = [];
    p = this.space(p + 1);
    if (body[p] === CLOSE_BRACKET) {
      this.pos = p + 1;
      return spans;
    }
    for (;;) {
      const span = this.event(p);
      if (!span) return undefined;
      spans.push(span);
      p = this.space(span.end);
      if (body[p] === COMMA) p = this.space(p + 1);
      else if (body[p] === CLOSE_BRACKET) {
        this.pos = p + 1;
        return spans;
      } else return undefined;
    }
  }

  /**
   * The end of the value at `p`. Arrays and objects are walked in one flat loop over their bytes,
   * with their nesting on a stack, rather than a call per value: this runs over every byte of
   * every event of a batch. A member is counted at its colon, the one colon outside strings.
   */
  value(p: number): number {
    const body = this.body;
    const c0 = body[p];
    if (c0 === QUOTE) return this.string(p);
    if (c0 === MINUS || isDigit(c0)) return this.number(p);
    // true, false, null: JSON.parse accepted the text, so the letters are right.
    if (c0 === 0x74 || c0 === 0x6e) return p + 4;
    if (c0 === 0x66) return p + 5;
    if (c0 !== OPEN_BRACE && c0 !== OPEN_BRACKET) return -1;
    const inObject = this.stack;
    const length = body.length;
    let depth = 0;
    let expectKey = false;
    for (; p < length; p++) {
      const c = body[p]!;
      if (c === QUOTE) {
        // V8 lists keys that are array indices first, whatever their place in the text.
        if (expectKey && isDigit(body[p + 1])) this.canonical = false;
        p = this.string(p) - 1;
        if (p < 0) return -1;
        expectKey = false;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (depth === MAX_DEPTH) return -1;
        expectKey = c === OPEN_BRACE;
        inObject[depth++] = expectKey ? 1 : 0;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return p + 1;
        expectKey = false;
      } else if (c === COMMA) expectKey = inObject[depth - 1] === 1;
      else if (c === COLON) this.members++;
      else if (c === MINUS || isDigit(c)) p = this.number(p) - 1;
      // Whitespace is valid JSON, but not what JSON.stringify writes.
      else if (isSpace(c)) this.canonical = false;
      // Anything else is a letter of true, false or null.
    }
    return -1;
  }

  /**
   * The end of the string at `p`. JSON.stringify writes `\"`, `\\` and `\b \f \n \r \t` as
   * escapes and every other character as itself (the body is valid UTF-8); `\/` and `\u` forms
   * are read back as other text, so they make the event non-canonical.
   */
  string(p: number): number {
    const body = this.body;
    const length = body.length;
    this.escaped = false;
    for (p++; p < length; p++) {
      const c = body[p]!;
      // Most bytes of a string are lower-case letters, above both bytes that matter here.
      if (c > BACKSLASH) continue;
      if (c === QUOTE) return p + 1;
      if (c === BACKSLASH) {
        this.escaped = true;
        const e = body[++p];
        if (e === 0x75 || e === 0x2f) this.canonical = false; // \u, \/
      }
    }
    return -1;
  }

  /**
   * The end of the number at `p`. Canonical when JavaScript prints the parsed number the same
   * way: no exponent, no `-0`, no trailing zero in a fraction, at most 15 significant digits
   * (which a double keeps exactly, so its shortest form is the text itself), and not so small
   * that it prints with an exponent (below 10⁻⁶).
   */
  number(p: number): number {
    const body = this.body;
    const negative = body[p] === MINUS;
    if (negative) p++;
    const intStart = p;
    while (isDigit(body[p])) p++;
    const intDigits = p - intStart;
    if (intDigits === 0) return -1;
    const zeroInt = body[intStart] === DIGIT_0;
    let significant = zeroInt ? 0 : intDigits;
    let allZero = zeroInt;
    if (body[p] === DOT) {
      p++;
      const fracStart = p;
      let leadingZeros = 0;
      while (isDigit(body[p])) {
        if (body[p] !== DIGIT_0) allZero = false;
        else if (allZero) leadingZeros++;
        p++;
      }
      const fracDigits = p - fracStart;
      if (fracDigits === 0) return -1;
      significant += zeroInt ? fracDigits - leadingZeros : fracDigits;
      if (body[p - 1] === DIGIT_0 || (zeroInt && leadingZeros > 5)) this.canonical = false;
    }
    if (body[p] === 0x65 || body[p] === 0x45) {
      this.canonical = false;
      p++;
      if (body[p] === 0x2b || body[p] === MINUS) p++;
      while (isDigit(body[p])) p++;
    }
    if (significant > EXACT_DIGITS || (negative && allZero)) this.canonical = false;
    return p;
  }
}
