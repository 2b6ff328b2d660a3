/** What the component host reports, as counters and a histogram. */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ComponentObserver } from '../wasm/index.ts';

/** Calls run from a millisecond (a render) to the 30 s limit. */
const CALL_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function componentMetrics(registry: Registry): ComponentObserver {
  const registers = [registry];
  const calls = new Counter({ name: 'factum_component_calls_total', help: 'Component calls, by function and outcome', labelNames: ['function', 'outcome'], registers });
  const duration = new Histogram({
    name: 'factum_component_call_duration_seconds',
    help: 'Component calls, waiting for a worker included, by function',
    labelNames: ['function'],
    buckets: CALL_SECONDS_BUCKETS,
    registers,
  });
  const timeouts = new Counter({ name: 'factum_component_timeouts_total', help: 'Component calls stopped at their time limit', registers });
  const memoryKills = new Counter({ name: 'factum_component_memory_kills_total', help: 'Component calls stopped at their memory limit', registers });
  const transpileCache = new Counter({
    name: 'factum_component_transpile_cache_total',
    help: 'Components prepared, by whether their transpiled form was in the cache (hit) or was made (miss)',
    labelNames: ['result'],
    registers,
  });
  transpileCache.inc({ result: 'hit' }, 0);
  transpileCache.inc({ result: 'miss' }, 0);

  return {
    called(fn, outcome, seconds) {
      calls.inc({ function: fn, outcome });
      duration.observe({ function: fn }, seconds);
      if (outcome === 'timeout') timeouts.inc();
      else if (outcome === 'memory') memoryKills.inc();
    },
    transpileCache(hit) {
      transpileCache.inc({ result: hit ? 'hit' : 'miss' });
    },
  };
}
