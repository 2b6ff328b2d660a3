/** Waiting with a time limit and a way out, without leaving timers or listeners behind. */

export type Settled = 'done' | 'timeout' | 'aborted';

/** Waits for `promise`, at most `timeoutMs`, and no longer than until `signal` aborts. */
export function settle(promise: Promise<unknown>, timeoutMs: number, signal: AbortSignal): Promise<Settled> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise<Settled>((resolve) => {
    const finish = (outcome: Settled) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    signal.addEventListener('abort', onAbort);
    promise.then(
      () => finish('done'),
      () => finish('done'),
    );
  });
}

/** Sleeps `ms`; false when `signal` aborted first. */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return (await settle(new Promise(() => undefined), ms, signal)) === 'timeout';
}
