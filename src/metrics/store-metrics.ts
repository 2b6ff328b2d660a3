/** What the storage adapters report, as counters and histograms. */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { StoreObserver, TransactionOutcome } from '../storage/types.ts';
import { databaseLabelNames, incPerDatabase } from './labels.ts';

/** fdatasync takes tens of microseconds on a fast SSD, hundreds of milliseconds on a busy disk. */
const SYNC_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const TRANSACTIONS_PER_COMMIT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const TRANSACTION_OUTCOMES: readonly TransactionOutcome[] = ['committed', 'conflict', 'throttled', 'condition_failed', 'error'];

export function storeMetrics(registry: Registry, databaseLabels: boolean): StoreObserver {
  const registers = [registry];
  const labelNames = databaseLabelNames(databaseLabels);
  const appends = new Counter({ name: 'factum_appends_total', help: 'Transactions appended', labelNames, registers });
  const eventsAppended = new Counter({ name: 'factum_events_appended_total', help: 'Events appended', labelNames, registers });
  const bytesAppended = new Counter({ name: 'factum_appended_bytes_total', help: 'UTF-8 bytes of the stored JSON of appended events', labelNames, registers });
  const queries = new Counter({ name: 'factum_queries_total', help: 'Queries the store answered (constraint checks and state views included)', labelNames, registers });
  const eventsRead = new Counter({ name: 'factum_events_read_total', help: 'Events the store answered queries with', labelNames, registers });
  const groupCommits = new Counter({ name: 'factum_group_commits_total', help: 'Group commits of the file store: one write and one fdatasync each', registers });
  const transactionsPerCommit = new Histogram({
    name: 'factum_group_commit_transactions',
    help: 'Transactions written by one group commit of the file store',
    buckets: TRANSACTIONS_PER_COMMIT_BUCKETS,
    registers,
  });
  const syncSeconds = new Histogram({ name: 'factum_fdatasync_duration_seconds', help: 'fdatasync of one group commit of the file store', buckets: SYNC_SECONDS_BUCKETS, registers });
  const transactions = new Counter({
    name: 'factum_dynamodb_transactions_total',
    help: 'TransactWriteItems requests DynamoDB answered, each attempt once, by outcome (conflict and throttled ones are sent again)',
    labelNames: ['outcome'],
    registers,
  });
  // Every outcome is there from the start, at zero, so a rate over it has a first sample.
  for (const outcome of TRANSACTION_OUTCOMES) transactions.inc({ outcome }, 0);

  return {
    appended(database, events, bytes) {
      incPerDatabase(appends, databaseLabels, database, 1);
      incPerDatabase(eventsAppended, databaseLabels, database, events);
      incPerDatabase(bytesAppended, databaseLabels, database, bytes);
    },
    queried(database, events) {
      incPerDatabase(queries, databaseLabels, database, 1);
      incPerDatabase(eventsRead, databaseLabels, database, events);
    },
    groupCommitted(transactionCount, seconds) {
      groupCommits.inc();
      transactionsPerCommit.observe(transactionCount);
      syncSeconds.observe(seconds);
    },
    transactionAttempted(outcome) {
      transactions.inc({ outcome });
    },
  };
}
