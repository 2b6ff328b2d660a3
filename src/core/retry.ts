/**
 * The one retry helper. Everything in Factum that tries again — an append whose guard lost a
 * race, a state change re-deciding on fresher views, a component version number taken by a
 * concurrent upload, DynamoDB cancelling a transaction for conflicts or throttling — goes
 * through `withRetries`, and every one of them that runs out of attempts fails the same way:
 * with a ContentionError (ABORTED), which clients may retry.
 *
 * It does no I/O itself: it calls the operation it is given and, between attempts, waits.
 */
import { ContentionError, type ErrorDetails } from './errors.ts';

/** What one attempt came to: a value, or a reason to try again. */
export type AttemptOutcome<T> = { kind: 'done'; value: T } | { kind: 'retry' };

export const done = <T>(value: T): AttemptOutcome<T> => ({ kind: 'done', value });
export const tryAgain: AttemptOutcome<never> = { kind: 'retry' };

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /**
   * Ceiling of the wait before the second attempt, doubled for each further one, with full
   * jitter (a random wait up to the ceiling) so that writers who collided do not collide again.
   * 0 or unset: try again at once (a retry that re-reads fresh state needs no pause).
   */
  baseDelayMs?: number;
  /** Cap of the ceiling. Default 1 s. */
  maxDelayMs?: number;
}

export interface Exhausted {
  /** Says what gave up, e.g. `append to "shop"`. */
  what: string;
  /** Why it kept retrying, e.g. `concurrent changes in its constrained scope`. */
  why: string;
  details?: ErrorDetails;
}

/** The wait before attempt `attempt` (2, 3, …) under `policy`, in ms. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  if (!policy.baseDelayMs || attempt < 2) return 0;
  const ceiling = Math.min(policy.maxDelayMs ?? 1000, policy.baseDelayMs * 2 ** (attempt - 2));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `operation` until it is done, at most `policy.maxAttempts` times; then throws a
 * ContentionError built from `exhausted`. Errors the operation throws end the retries at once.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  exhausted: Exhausted,
  operation: (attempt: number) => Promise<AttemptOutcome<T>>,
): Promise<T> {
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    const delay = backoffDelayMs(policy, attempt);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const outcome = await operation(attempt);
    if (outcome.kind === 'done') return outcome.value;
  }
  throw new ContentionError(`${exhausted.what} gave up after ${policy.maxAttempts} attempts: ${exhausted.why}; retry later`, {
    ...exhausted.details,
    attempts: policy.maxAttempts,
  });
}
