/**
 * Revision constraints on an append. Each is checked against a "scope revision": the
 * database's latest revision when the constraint has no selector, otherwise the latest revision
 * among events matching its selector (0 when none match).
 *
 * - min_revision N: scope revision ≥ N. `min_revision 1` with a selector means "must exist".
 * - max_revision N: scope revision ≤ N, i.e. no event in scope after N (positions are
 *   exclusive: events at or before N are ignored). With a selector this is the Dynamic
 *   Consistency Boundary check; `max_revision 0` means "no such event yet" (uniqueness).
 * - revision_range [A, B]: A ≤ scope revision ≤ B; `[r, r]` means "exactly at r".
 */
import { InvalidArgumentError } from './errors.ts';
import { parseSelector, selectorToWire, type Selector } from './selectors.ts';

export type RevisionConstraint =
  | { type: 'min_revision'; revision: number; selector?: Selector }
  | { type: 'max_revision'; revision: number; selector?: Selector }
  | { type: 'revision_range'; min: number; max: number; selector?: Selector };

/** A constraint scoped to the events matching a selector (the DCB append condition). */
export type SelectorConstraint = RevisionConstraint & { selector: Selector };

export interface ConstraintViolation {
  index: number;
  constraint: RevisionConstraint;
  /** The scope revision that broke it. */
  actualRevision: number;
}

export function parseConstraints(wire: unknown): RevisionConstraint[] {
  if (wire === undefined) return [];
  if (!Array.isArray(wire)) throw new InvalidArgumentError('constraints must be a list', { field: 'constraints' });
  return wire.map((item, index) => parseConstraint(item, `constraints[${index}]`));
}

function parseConstraint(item: unknown, path: string): RevisionConstraint {
  if (!item || typeof item !== 'object') throw new InvalidArgumentError(`${path} must be an object`, { field: path });
  const obj = item as Record<string, unknown>;
  const selector = obj.selector === undefined ? undefined : parseSelector(obj.selector, `${path}.selector`);
  const scoped = <T extends object>(c: T) => (selector ? { ...c, selector } : c);
  switch (obj.type) {
    case 'min_revision':
    case 'max_revision':
      return scoped({ type: obj.type, revision: revisionField(obj.revision, `${path}.revision`) });
    case 'revision_range': {
      const min = revisionField(obj.min, `${path}.min`);
      const max = revisionField(obj.max, `${path}.max`);
      if (min > max) {
        throw new InvalidArgumentError(`${path}: min ${min} is greater than max ${max}`, { field: path, min, max });
      }
      return scoped({ type: 'revision_range', min, max });
    }
    default:
      throw new InvalidArgumentError(`${path}.type must be min_revision, max_revision or revision_range`, {
        field: `${path}.type`,
      });
  }
}

function revisionField(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${field} must be a non-negative integer`, { field });
  }
  return value;
}

export function satisfies(constraint: RevisionConstraint, scopeRevision: number): boolean {
  switch (constraint.type) {
    case 'min_revision':
      return scopeRevision >= constraint.revision;
    case 'max_revision':
      return scopeRevision <= constraint.revision;
    case 'revision_range':
      return scopeRevision >= constraint.min && scopeRevision <= constraint.max;
  }
}

/**
 * The revision after which a matching event breaks the constraint, if any can. Minimums can
 * only be broken by the absence of events, so they have none.
 */
export function breakingAfter(constraint: RevisionConstraint): number | undefined {
  switch (constraint.type) {
    case 'min_revision':
      return undefined;
    case 'max_revision':
      return constraint.revision;
    case 'revision_range':
      return constraint.max;
  }
}

/**
 * Checks every constraint against the scope revisions observed at one basis revision and
 * returns each one that does not hold.
 */
export function findViolations(
  constraints: readonly RevisionConstraint[],
  scopeRevisions: readonly number[],
): ConstraintViolation[] {
  const violations: ConstraintViolation[] = [];
  constraints.forEach((constraint, index) => {
    const actualRevision = scopeRevisions[index]!;
    if (!satisfies(constraint, actualRevision)) violations.push({ index, constraint, actualRevision });
  });
  return violations;
}

/**
 * Constraints that held at a basis revision can only stop holding if an event in their scope is
 * appended after it, and only for constraints with an upper bound (a minimum, once reached,
 * stays reached). The store re-checks these scopes atomically with the write; `undefined` in the
 * list stands for the whole database.
 */
export function guardScopes(constraints: readonly RevisionConstraint[]): Array<Selector | undefined> {
  return constraints.filter((c) => breakingAfter(c) !== undefined).map((c) => c.selector);
}

export function constraintToWire(constraint: RevisionConstraint): Record<string, unknown> {
  const { selector, ...rest } = constraint;
  return selector ? { ...rest, selector: selectorToWire(selector) } : rest;
}
