/**
 * Selectors against DynamoDB: which GSI lookups can answer one, the server-side filter that saves
 * transferring events that do not match, and the check in code that has the final word.
 */
import { matchesSelector, type Selector, type SelectorAttr } from '../../core/selectors.ts';
import { A } from './keys.ts';
import { num, type Item } from './items.ts';

export interface IndexLookup {
  attr: SelectorAttr;
  value: string | null;
}

/** Beyond this many lookups a merge of GSI queries costs more than it saves. */
const MAX_INDEX_LOOKUPS = 8;

/** Subjects usually name one entity, streams a few, types many: prefer the narrower. */
const ATTR_PREFERENCE: Record<SelectorAttr, number> = { subject: 0, stream: 1, event_type: 2 };

/**
 * Lookups whose union contains every event the selector matches (they may contain more), or
 * undefined when no index can answer it and a revision range has to be read.
 */
export function indexPlan(selector: Selector): IndexLookup[] | undefined {
  const plan = planFor(selector);
  return plan && plan.length <= MAX_INDEX_LOOKUPS ? plan : undefined;
}

function planFor(selector: Selector): IndexLookup[] | undefined {
  switch (selector.type) {
    case 'equals':
      return [{ attr: selector.attr, value: selector.value }];
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

export interface EventFilter {
  selector?: Selector;
  fromTimeMs?: number;
  toTimeMs?: number;
}

/** Whether an event item (or its GSI projection) passes the selector and the time bounds. */
export function itemMatches(item: Item, filter: EventFilter): boolean {
  if (filter.selector) {
    const event = { source: text(item[A.source]) ?? '', type: text(item[A.type]) ?? '', subject: text(item[A.subject]) };
    if (!matchesSelector(filter.selector, event)) return false;
  }
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

const ATTR_NAMES: Record<SelectorAttr, string> = { stream: A.source, event_type: A.type, subject: A.subject };

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
        const attr = name(ATTR_NAMES[selector.attr]);
        return selector.value === null ? `attribute_not_exists(${attr})` : `${attr} = ${value(selector.value)}`;
      }
      case 'starts_with': {
        const attr = name(ATTR_NAMES[selector.attr]);
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
