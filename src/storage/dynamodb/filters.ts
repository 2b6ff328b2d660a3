/**
 * Selectors against DynamoDB: which GSI lookups or extension index items can answer one, the
 * server-side filter that saves transferring events that do not match, and the check in code
 * that has the final word.
 */
import { extensionName, matchesSelector, type BuiltInAttr, type Selector, type SelectorAttr } from '../../core/selectors.ts';
import { A, extensionItemAttribute } from './keys.ts';
import { num, type Item } from './items.ts';

export interface IndexLookup {
  attr: BuiltInAttr;
  value: string | null;
}

/** A read of extension index items: the events of one value, or of the values with a prefix. */
export interface ExtensionLookup {
  name: string;
  value: string;
  prefix: boolean;
}

/** Beyond this many lookups a merge of GSI queries costs more than it saves. */
const MAX_INDEX_LOOKUPS = 8;

/** Subjects usually name one entity, streams a few, types many: prefer the narrower. */
const ATTR_PREFERENCE: Record<BuiltInAttr, number> = { subject: 0, stream: 1, event_type: 2 };

/**
 * Lookups whose union contains every event the selector matches (they may contain more), or
 * undefined when no index can answer it and a revision range has to be read.
 */
export function indexPlan(selector: Selector): IndexLookup[] | undefined {
  // The GSIs project no extension attributes, so their candidates could not be checked.
  if (extensionNames(selector).length > 0) return undefined;
  const plan = planFor(selector);
  return plan && plan.length <= MAX_INDEX_LOOKUPS ? plan : undefined;
}

function planFor(selector: Selector): IndexLookup[] | undefined {
  switch (selector.type) {
    case 'equals':
      return extensionName(selector.attr) === undefined ? [{ attr: selector.attr as BuiltInAttr, value: selector.value }] : undefined;
    case 'starts_with':
      return undefined;
    case 'and': {
      // Any one branch bounds the result; take the one with the fewest lookups.
      let best: IndexLookup[] | undefined;
      for (const child of selector.selectors) {
        const plan = planFor(child);
        if (!plan) continue;
        if (!best || plan.length < best.length || (plan.length === best.length && ATTR_PREFERENCE[plan[0]!.attr] < ATTR_PREFERENCE[best[0]!.attr])) {
          best = plan;
        }
      }
      return best;
    }
    case 'or': {
      const all: IndexLookup[] = [];
      for (const child of selector.selectors) {
        const plan = planFor(child);
        if (!plan) return undefined;
        for (const lookup of plan) {
          if (!all.some((l) => l.attr === lookup.attr && l.value === lookup.value)) all.push(lookup);
        }
      }
      return all;
    }
  }
}

/** Beyond this many extension lookups, reading the revision range is the better plan. */
const MAX_EXTENSION_LOOKUPS = 16;

/**
 * Extension index reads whose union contains every event the selector matches, or undefined
 * when some branch matches events no extension names: an AND is bounded by any one branch that
 * has a plan (an equality before a prefix, then the fewest reads), an OR only by all of them.
 */
export function extensionPlan(selector: Selector): ExtensionLookup[] | undefined {
  const plan = extensionPlanFor(selector);
  return plan && plan.length <= MAX_EXTENSION_LOOKUPS ? plan : undefined;
}

function extensionPlanFor(selector: Selector): ExtensionLookup[] | undefined {
  switch (selector.type) {
    case 'equals':
    case 'starts_with': {
      const name = extensionName(selector.attr);
      // "Without this extension" has no index items.
      if (name === undefined || selector.value === null) return undefined;
      return [{ name, value: selector.value, prefix: selector.type === 'starts_with' }];
    }
    case 'and': {
      let best: ExtensionLookup[] | undefined;
      const cost = (plan: ExtensionLookup[]) => plan.length + (plan.some((l) => l.prefix) ? MAX_EXTENSION_LOOKUPS : 0);
      for (const child of selector.selectors) {
        const plan = extensionPlanFor(child);
        if (plan && (!best || cost(plan) < cost(best))) best = plan;
      }
      return best;
    }
    case 'or': {
      const all: ExtensionLookup[] = [];
      for (const child of selector.selectors) {
        const plan = extensionPlanFor(child);
        if (!plan) return undefined;
        for (const l of plan) if (!all.some((a) => a.name === l.name && a.value === l.value && a.prefix === l.prefix)) all.push(l);
      }
      return all;
    }
  }
}

/** The extension names a selector looks at, each once. */
export function extensionNames(selector: Selector): string[] {
  const names = new Set<string>();
  const visit = (s: Selector): void => {
    if (s.type === 'and' || s.type === 'or') s.selectors.forEach(visit);
    else {
      const name = extensionName(s.attr);
      if (name !== undefined) names.add(name);
    }
  };
  visit(selector);
  return [...names];
}

/** The event item attributes a filter's check reads besides source, type, subject and time. */
export function filterAttributes(filter: EventFilter | undefined): string[] {
  return filter?.selector ? extensionNames(filter.selector).map(extensionItemAttribute) : [];
}

/** An event item (as far as it was read) as selectors see it, with the extensions they name. */
export function itemEvent(item: Item, selector: Selector | undefined): { source: string; type: string; subject?: string; [extension: string]: unknown } {
  const event: { source: string; type: string; subject?: string; [extension: string]: unknown } = { source: text(item[A.source]) ?? '', type: text(item[A.type]) ?? '', subject: text(item[A.subject]) };
  if (selector) for (const name of extensionNames(selector)) event[name] = text(item[extensionItemAttribute(name)]);
  return event;
}

export interface EventFilter {
  selector?: Selector;
  fromTimeMs?: number;
  toTimeMs?: number;
}

/** Whether an event item (or its GSI projection) passes the selector and the time bounds. */
export function itemMatches(item: Item, filter: EventFilter): boolean {
  if (filter.selector && !matchesSelector(filter.selector, itemEvent(item, filter.selector))) return false;
  if (filter.fromTimeMs !== undefined || filter.toTimeMs !== undefined) {
    const t = num(item[A.effectiveTime]);
    if (filter.fromTimeMs !== undefined && !(t >= filter.fromTimeMs)) return false;
    if (filter.toTimeMs !== undefined && !(t <= filter.toTimeMs)) return false;
  }
  return true;
}

function sendable(bound: number | undefined): bound is number {
  return bound !== undefined && Number.isFinite(bound) && Math.abs(bound) <= Number.MAX_SAFE_INTEGER;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export interface Expression {
  expression: string;
  names: Record<string, string>;
  values: Record<string, string | number>;
}

/** DynamoDB refuses expressions over 4 KB; big selectors are then filtered in code only. */
const MAX_FILTER_EXPRESSION_CHARS = 3500;
const MAX_FILTER_VALUE_BYTES = 64 * 1024;

const ATTR_NAMES: Record<BuiltInAttr, string> = { stream: A.source, event_type: A.type, subject: A.subject };

/** The event item attribute that holds a selector attribute. */
export function itemAttribute(attr: SelectorAttr): string {
  const name = extensionName(attr);
  return name === undefined ? ATTR_NAMES[attr as BuiltInAttr] : extensionItemAttribute(name);
}

/**
 * A FilterExpression equivalent to the filter, or undefined when there is nothing to filter or
 * the expression would be too large. Filtering in DynamoDB only saves transfer: every item read
 * is still paid for, and results are checked again in code.
 */
export function filterExpression(filter: EventFilter): Expression | undefined {
  const names: Record<string, string> = {};
  const values: Record<string, string | number> = {};
  let valueBytes = 0;
  let expressible = true;
  const name = (attribute: string): string => {
    const placeholder = `#${attribute}`;
    names[placeholder] = attribute;
    return placeholder;
  };
  const value = (v: string | number): string => {
    const placeholder = `:f${Object.keys(values).length}`;
    values[placeholder] = v;
    valueBytes += typeof v === 'string' ? Buffer.byteLength(v) : 21;
    return placeholder;
  };
  const walk = (selector: Selector): string => {
    switch (selector.type) {
      case 'equals': {
        const attr = name(itemAttribute(selector.attr));
        return selector.value === null ? `attribute_not_exists(${attr})` : `${attr} = ${value(selector.value)}`;
      }
      case 'starts_with': {
        const attr = name(itemAttribute(selector.attr));
        return selector.value === '' ? `attribute_exists(${attr})` : `begins_with(${attr}, ${value(selector.value)})`;
      }
      case 'and':
      case 'or':
        // DynamoDB has no literal true or false for an empty combination; leave those to the code.
        if (selector.selectors.length === 0) expressible = false;
        return `(${selector.selectors.map(walk).join(selector.type === 'and' ? ' AND ' : ' OR ')})`;
    }
  };
  const parts: string[] = [];
  if (filter.selector) parts.push(walk(filter.selector));
  // Bounds that are not finite cannot be DynamoDB numbers, and the document client refuses to send
  // numbers beyond the safe integers; the check in code still applies such bounds.
  if (sendable(filter.fromTimeMs)) parts.push(`${name(A.effectiveTime)} >= ${value(filter.fromTimeMs)}`);
  if (sendable(filter.toTimeMs)) parts.push(`${name(A.effectiveTime)} <= ${value(filter.toTimeMs)}`);
  if (parts.length === 0 || !expressible) return undefined;
  const expression = parts.join(' AND ');
  if (expression.length > MAX_FILTER_EXPRESSION_CHARS || valueBytes > MAX_FILTER_VALUE_BYTES) return undefined;
  return { expression, names, values };
}
