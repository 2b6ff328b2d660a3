/**
 * Selectors pick events by stream (CloudEvents `source`), event type, subject and extension
 * attributes (CloudEvents extensions such as `course` or `student`, which name the entities an
 * event is about).
 *
 * Two wire forms are accepted and both become one tree:
 * - the query form, `{"stream"?, "event_type"?, "subject"?, "extensions"?: {"course": "c1"}}`:
 *   its fields (and each extension named) are AND-ed, and a list of them is OR-ed;
 * - the tree form, `{"type":"equals"|"starts_with","attr":{"event_type":"X"}}`, with an extension
 *   as `{"attr":{"extension":{"name":"course","value":"c1"}}}`, and
 *   `{"type":"and"|"or","selectors":[…]}`.
 * Extensions sit apart from the built-in names on the wire, so an extension can never be taken
 * for one of them. `{"type":"equals","attr":{"subject":null}}` matches events without a subject.
 */
import { InvalidArgumentError } from './errors.ts';

/** The attributes every event has a place for: stream (source), type and subject. */
export type BuiltInAttr = 'stream' | 'event_type' | 'subject';
/** The built-in attributes, in the order forms and suggestions list them. */
export const SELECTOR_ATTRS: readonly BuiltInAttr[] = ['stream', 'event_type', 'subject'];

/** An extension attribute as selectors name it internally: `ext.` and the CloudEvents name. */
export type ExtensionAttr = `ext.${string}`;
export type SelectorAttr = BuiltInAttr | ExtensionAttr;

export type Selector =
  | { type: 'equals'; attr: SelectorAttr; value: string | null }
  | { type: 'starts_with'; attr: SelectorAttr; value: string }
  | { type: 'and'; selectors: Selector[] }
  | { type: 'or'; selectors: Selector[] };

/** The attributes of an event a selector looks at: the built-in three, and extensions by name. */
export interface SelectableEvent {
  source: string;
  type: string;
  subject?: string;
  readonly [attribute: string]: unknown;
}

/** CloudEvents extension names: lower-case letters and digits (the spec's MUST). */
export const EXTENSION_NAME_PATTERN = /^[a-z0-9]+$/;
/**
 * Longer names are refused in selectors: CloudEvents recommends at most 20 characters, and
 * DynamoDB keys carry the name; 64 leaves room for names that overstep the recommendation.
 */
export const MAX_EXTENSION_NAME_LENGTH = 64;

/**
 * Names that are not extensions: the CloudEvents context attributes, the data members and what
 * the database assigns. A selector on one of them is a mistake the message can name.
 */
const NOT_EXTENSIONS = new Set(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema', 'data', 'data_base64', 'revision', 'recordedtime']);

export function extensionAttr(name: string): ExtensionAttr {
  return `ext.${name}`;
}

/** The CloudEvents name of an extension attribute, or undefined for a built-in one. */
export function extensionName(attr: SelectorAttr): string | undefined {
  return attr.startsWith('ext.') ? attr.slice(4) : undefined;
}

export function isExtensionName(name: string): boolean {
  return EXTENSION_NAME_PATTERN.test(name) && name.length <= MAX_EXTENSION_NAME_LENGTH && !NOT_EXTENSIONS.has(name);
}

/**
 * An extension value as selectors compare it: CloudEvents gives every attribute a canonical
 * string, so the integer 5 is "5" and true is "true". Anything else (an object) is no value.
 */
export function extensionValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The extension attributes of an event with their canonical values, in the event's order. */
export function extensionsOf(event: Readonly<Record<string, unknown>>): Array<[name: string, value: string]> {
  const out: Array<[string, string]> = [];
  for (const name in event) {
    if (NOT_EXTENSIONS.has(name) || !EXTENSION_NAME_PATTERN.test(name)) continue;
    const value = extensionValue(event[name]);
    if (value !== undefined) out.push([name, value]);
  }
  return out;
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
    default:
      return extensionValue(event[attr.slice(4)]);
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

const FIELD_FORM = 'stream, event_type, subject or extensions ({"extensions": {"course": "c1"}})';
const TREE_ATTRS = 'stream, event_type, subject or extension ({"extension": {"name": "course", "value": "c1"}})';

function parseFields(obj: WireSelector, path: string): Selector {
  const leaves: Selector[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'extensions') {
      leaves.push(...parseExtensionFields(value, `${path}.extensions`));
      continue;
    }
    // `source` is the CloudEvents name of what Factum calls the stream; both are accepted.
    const attr: SelectorAttr | undefined =
      key === 'stream' || key === 'source' ? 'stream' : key === 'event_type' || key === 'subject' ? key : undefined;
    if (!attr) {
      throw new InvalidArgumentError(`${path}.${key} is not a selector field (use ${FIELD_FORM})`, {
        field: `${path}.${key}`,
      });
    }
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidArgumentError(`${path}.${key} must be a non-empty string`, { field: `${path}.${key}` });
    }
    leaves.push({ type: 'equals', attr, value });
  }
  if (leaves.length === 0) {
    throw new InvalidArgumentError(`${path} is empty: give at least one of ${FIELD_FORM}`, {
      field: path,
    });
  }
  return leaves.length === 1 ? leaves[0]! : { type: 'and', selectors: leaves };
}

/** `{"course": "c1", "student": "s1"}`: one equality per extension, AND-ed with the rest. */
function parseExtensionFields(wire: unknown, path: string): Selector[] {
  if (!wire || typeof wire !== 'object' || Array.isArray(wire) || Object.keys(wire).length === 0) {
    throw new InvalidArgumentError(`${path} must be an object of extension names and values, like {"course": "c1"}`, { field: path });
  }
  return Object.entries(wire).map(([name, value]): Selector => {
    assertExtensionName(name, `${path}.${name}`);
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidArgumentError(`${path}.${name} must be a non-empty string`, { field: `${path}.${name}` });
    }
    return { type: 'equals', attr: extensionAttr(name), value };
  });
}

function assertExtensionName(name: unknown, field: string): asserts name is string {
  if (typeof name === 'string' && NOT_EXTENSIONS.has(name)) {
    const instead = name === 'type' ? 'event_type' : name === 'source' ? 'stream' : name === 'subject' ? 'subject' : undefined;
    throw new InvalidArgumentError(
      `${field}: ${name} is a CloudEvents context attribute, not an extension${instead ? ` (select it with ${instead})` : ''}`,
      { field, reason: 'reserved name' },
    );
  }
  if (typeof name !== 'string' || !isExtensionName(name)) {
    throw new InvalidArgumentError(
      `${field} is not an extension name: lower-case letters a-z and digits 0-9, at most ${MAX_EXTENSION_NAME_LENGTH} characters (CloudEvents recommends 20)`,
      { field, reason: 'extension name' },
    );
  }
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
        throw new InvalidArgumentError(`${path}.attr must name exactly one of ${TREE_ATTRS}`, {
          field: `${path}.attr`,
        });
      }
      const [key, value] = entries[0]!;
      if (key === 'extension') return parseExtensionLeaf(obj.type, value, `${path}.attr.extension`);
      const attr = key === 'source' ? 'stream' : key;
      if (!SELECTOR_ATTRS.includes(attr as BuiltInAttr)) {
        throw new InvalidArgumentError(`${path}.attr.${key} is not a selector attribute (use ${TREE_ATTRS})`, { field: `${path}.attr` });
      }
      if (value === null && obj.type === 'equals' && attr === 'subject') {
        return { type: 'equals', attr: 'subject', value: null };
      }
      if (typeof value !== 'string' || (value.length === 0 && obj.type === 'equals')) {
        throw new InvalidArgumentError(`${path}.attr.${key} must be a non-empty string`, { field: `${path}.attr.${key}` });
      }
      return { type: obj.type, attr: attr as BuiltInAttr, value };
    }
    default:
      throw new InvalidArgumentError(`${path}.type must be one of equals, starts_with, and, or`, {
        field: `${path}.type`,
      });
  }
}

/** `{"name": "course", "value": "c1"}`; starts_with takes an empty value ("has the extension"). */
function parseExtensionLeaf(type: 'equals' | 'starts_with', wire: unknown, path: string): Selector {
  const leaf = wire && typeof wire === 'object' && !Array.isArray(wire) ? (wire as Record<string, unknown>) : undefined;
  if (!leaf || Object.keys(leaf).some((k) => k !== 'name' && k !== 'value')) {
    throw new InvalidArgumentError(`${path} must be {"name": "<extension>", "value": "<string>"}`, { field: path });
  }
  assertExtensionName(leaf.name, `${path}.name`);
  const { value } = leaf;
  if (typeof value !== 'string' || (value.length === 0 && type === 'equals')) {
    throw new InvalidArgumentError(`${path}.value must be a ${type === 'equals' ? 'non-empty ' : ''}string`, { field: `${path}.value` });
  }
  return { type, attr: extensionAttr(leaf.name), value };
}

/** The selector back in its tree wire form, for responses and stored metadata. */
export function selectorToWire(selector: Selector): WireSelector {
  switch (selector.type) {
    case 'equals':
    case 'starts_with': {
      const name = extensionName(selector.attr);
      return { type: selector.type, attr: name === undefined ? { [selector.attr]: selector.value } : { extension: { name, value: selector.value } } };
    }
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
