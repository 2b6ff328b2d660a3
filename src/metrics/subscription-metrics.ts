/**
 * Gauges of subscriptions, read when Prometheus scrapes: open subscriptions from the hub, and the
 * durable consumers read on this server with their lag, which costs a few store reads per
 * consumer and so is bounded to the first CONSUMERS_PER_SCRAPE of them.
 */
import { Gauge, type Registry } from 'prom-client';
import type { FactumContext } from '../usecases/context.ts';
import { heldConsumerLags } from '../usecases/subscriptions/consumers.ts';
import { databaseLabelNames, setPerDatabase } from './labels.ts';

export const CONSUMERS_PER_SCRAPE = 100;

interface ConsumerFigures {
  count: number;
  maxLag: number;
}

/** Registers the gauges; they read `context()` at each scrape (nothing until the server has one). */
export function subscriptionMetrics(registry: Registry, databaseLabels: boolean, context: () => FactumContext | undefined): void {
  const registers = [registry];
  const labelNames = databaseLabelNames(databaseLabels);
  new Gauge({
    name: 'factum_subscriptions_open',
    help: 'Open subscriptions (streams and WebSockets) on this server',
    registers,
    collect() {
      this.set(context()?.subscriptions?.stats().open ?? 0);
    },
  });

  // A scrape collects every metric at once: both consumer gauges share one round of reads.
  let reading: Promise<Map<string, ConsumerFigures>> | undefined;
  const figures = () =>
    (reading ??= consumerFigures(context(), databaseLabels).finally(() => {
      reading = undefined;
    }));
  const gaugeOf = (name: string, help: string, value: (f: ConsumerFigures) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const byDatabase = await figures();
        // Databases no longer read lose their series instead of repeating their last value.
        this.reset();
        for (const [database, f] of byDatabase) setPerDatabase(this, databaseLabels, database, value(f));
      },
    });
  gaugeOf('factum_consumers_connected', 'Durable consumers a subscription on this server reads as', (f) => f.count);
  gaugeOf(
    'factum_consumer_lag_revisions_max',
    `Revisions between the head of its database and the position of the most lagging consumer read on this server (of the first ${CONSUMERS_PER_SCRAPE})`,
    (f) => f.maxLag,
  );
}

/** Consumers and their greatest lag, by database ('' for all of them without database labels). */
async function consumerFigures(ctx: FactumContext | undefined, databaseLabels: boolean): Promise<Map<string, ConsumerFigures>> {
  const byDatabase = new Map<string, ConsumerFigures>();
  if (!databaseLabels) byDatabase.set('', { count: 0, maxLag: 0 });
  for (const { database, lagRevisions } of ctx ? await heldConsumerLags(ctx, CONSUMERS_PER_SCRAPE) : []) {
    const key = databaseLabels ? database : '';
    const entry = byDatabase.get(key) ?? { count: 0, maxLag: 0 };
    entry.count += 1;
    entry.maxLag = Math.max(entry.maxLag, lagRevisions);
    byDatabase.set(key, entry);
  }
  return byDatabase;
}
