/**
 * Selectors pick events by stream (CloudEvents `source`), event type and subject.
 *
 * Two wire forms are accepted and both become one tree:
 * - the query form, `{"stream"?, "event_type"?, "subject"?}`: its fields are AND-ed, and a list
 *   of them is OR-ed;
 * - the tree form, `{"type":"equals"|"starts_with","attr":{"event_type":"X"}}` and
 *   `{"type":"and"|"or","selectors":[…]}`.
 * `{"type":"equals","attr":{"subject":null}}` matches events that have no subject.
 */
import { InvalidArgumentError } from './errors.ts';

export type SelectorAttr = 'stream' | 'event_type' | 'subject';
export const SELECTOR_ATTRS: readonly SelectorAttr[] = ['stream', 'event_type', 'subject'];

export type Selector =
  | { type: 'equals'; attr: SelectorAttr; value: string | null }
  | { type: 'starts_with'; attr: SelectorAttr; value: string }
  | { type: 'and'; selectors: Selector[] }
  | { type: 'or'; selectors: Selector[] };

/** The attributes of an event a selector looks at. */
export interface SelectableEvent {
  source: string;
  type: string;
  subject?: string;
}

export type WireSelector = Record<string, unknown>;

export function attrValue(event: SelectableEvent, attr: SelectorAttr): string | undefined {
  switch (attr) {
    case 'stream':
      return event.source;
    case 'event_type':
      return event.type;
    case 'subject':
      return event.subject;
  }
}

export function matchesSelector(selector: Selector, event: SelectableEvent): boolean {
  switch (selector.type) {
    case 'equals': {
      const value = attrValue(event, selector.attr);
      return selector.value === null ? value === undefined : value === selector.value;
    }
    case 'starts_with': {
      const value = attrValue(event, selector.attr);
      return value !== undefined && value.startsWith(selector.value);
    }
    case 'and':
      return selector.selectors.every((s) => matchesSelector(s, event));
    case 'or':
      return selector.selectors.some((s) => matchesSelector(s, event));
  }
}

/** OR a list of selectors; one selector stays itself. */
export function anyOf(selectors: Selector[]): Selector {
  return selectors.length === 1 ? selectors[0]! : { type: 'or', selectors };
}

/**
 * Turns either wire form into a selector tree. `path` names the place in the request for error
 * details. Empty selectors are refused: a selector that silently matched everything would turn
 * a scoped constraint into a database-wide one.
 */
export function parseSelector(wire: unknown, path = 'selector'): Selector {
  if (!wire || typeof wire !== 'object' || Array.isArray(wire)) {
    throw new InvalidArgumentError(`${path} must be an object`, { field: path });
  }
  const obj = wire as WireSelector;
  if (typeof obj.type === 'string') return parseTree(obj, path);
  return parseFields(obj, path);
}

function parseFields(obj: WireSelector, path: string): Selector {
  const leaves: Selector[] = [];
  for (const [key, value] of Object.entries(obj)) {
    // `source` is the CloudEvents name of what Factum calls the stream; both are accepted.
    const attr: SelectorAttr | undefined =
      key === 'stream' || key === 'source' ? 'stream' : key === 'event_type' || key === 'subject' ? key : undefined;
    if (!attr) {
      throw new InvalidArgumentError(`${path}.${key} is not a selector field (use stream, event_type or subject)`, {
        field: `${path}.${key}`,
      });
    }
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidArgumentError(`${path}.${key} must be a non-empty string`, { field: `${path}.${key}` });
    }
    leaves.push({ type: 'equals', attr, value });
  }
  if (leaves.length === 0) {
    throw new InvalidArgumentError(`${path} is empty: give at least one of stream, event_type, subject`, {
      field: path,
    });
  }
  return leaves.length === 1 ? leaves[0]! : { type: 'and', selectors: leaves };
}

function parseTree(obj: WireSelector, path: string): Selector {
  switch (obj.type) {
    case 'and':
    case 'or': {
      const children = obj.selectors;
      if (!Array.isArray(children) || children.length === 0) {
        throw new InvalidArgumentError(`${path}.selectors must be a non-empty list`, { field: `${path}.selectors` });
      }
      return { type: obj.type, selectors: children.map((c, i) => parseSelector(c, `${path}.selectors[${i}]`)) };
    }
    case 'equals':
    case 'starts_with': {
      const attrObj = obj.attr;
      const entries = attrObj && typeof attrObj === 'object' && !Array.isArray(attrObj) ? Object.entries(attrObj) : [];
      if (entries.length !== 1) {
        throw new InvalidArgumentError(`${path}.attr must name exactly one of stream, event_type, subject`, {
          field: `${path}.attr`,
        });
      }
      const [key, value] = entries[0]!;
      const attr = key === 'source' ? 'stream' : key;
      if (!SELECTOR_ATTRS.includes(attr as SelectorAttr)) {
        throw new InvalidArgumentError(`${path}.attr.${key} is not a selector attribute`, { field: `${path}.attr` });
      }
      if (value === null && obj.type === 'equals' && attr === 'subject') {
        return { type: 'equals', attr: 'subject', value: null };
      }
      if (typeof value !== 'string' || (value.length === 0 && obj.type === 'equals')) {
        throw new InvalidArgumentError(`${path}.attr.${key} must be a non-empty string`, { field: `${path}.attr.${key}` });
      }
      return { type: obj.type, attr: attr as SelectorAttr, value };
    }
    default:
      throw new InvalidArgumentError(`${path}.type must be one of equals, starts_with, and, or`, {
        field: `${path}.type`,
      });
  }
}

/** The selector back in its tree wire form, for responses and stored metadata. */
export function selectorToWire(selector: Selector): WireSelector {
  switch (selector.type) {
    case 'equals':
    case 'starts_with':
      return { type: selector.type, attr: { [selector.attr]: selector.value } };
    case 'and':
    case 'or':
      return { type: selector.type, selectors: selector.selectors.map(selectorToWire) };
  }
}

/**
 * Parameterized selectors: a leaf value may hold `{name}` placeholders (`{"subject":
 * "{customer_id}"}`, `"customer-{customer_id}"`), bound when a view is read, so a view per
 * customer reads only that customer's events.
 */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The parameter names a selector's placeholders use, sorted. */
export function selectorParameters(selector: Selector): string[] {
  const names = new Set<string>();
  const visit = (s: Selector): void => {
    if (s.type === 'and' || s.type === 'or') s.selectors.forEach(visit);
    else if (s.value !== null) for (const m of s.value.matchAll(PLACEHOLDER)) names.add(m[1]!);
  };
  visit(selector);
  return [...names].sort();
}

/** The selector with every placeholder replaced; a missing parameter is an invalid argument. */
export function bindSelector(selector: Selector, params: Readonly<Record<string, string>>): Selector {
  switch (selector.type) {
    case 'and':
    case 'or':
      return { type: selector.type, selectors: selector.selectors.map((s) => bindSelector(s, params)) };
    case 'equals':
    case 'starts_with': {
      if (selector.value === null) return selector;
      const value = selector.value.replace(PLACEHOLDER, (_m, name: string) => {
        const bound = params[name];
        if (bound === undefined) {
          throw new InvalidArgumentError(`parameter "${name}" is required`, { field: name, reason: 'missing parameter' });
        }
        return bound;
      });
      return { ...selector, value } as Selector;
    }
  }
}
