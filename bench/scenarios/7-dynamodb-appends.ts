/**
 * 7. Appends through the DynamoDB adapter against what DynamoDB itself allows: a bare loop, one
 *    client, sending the same TransactWriteItems the adapter would send for one append (head
 *    update, event puts, uniqueness puts, built by the adapter's own item code) and nothing
 *    else. DynamoDB Local is started here, as the tests start it, and both run against it.
 *
 *    a. single-event appends from 16 concurrent callers (group commit shares transactions)
 *       against the bare loop of single-event transactions;
 *    b. 49-event appends from one caller against the bare loop of the same 99-action
 *       transactions; the adapter also writes the events' latest-value items, which do not fit
 *       in those transactions, in a catch-up right after (its time counts: a run ends when the
 *       items are written).
 *    CPU per append is this process's (Node: adapter and SDK) and DynamoDB Local's (the JVM).
 */
import { readFile } from 'node:fs/promises';
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CloudEvent } from '../../src/core/events.ts';
import { buildClient, documentClient } from '../../src/storage/dynamodb/client.ts';
import { DynamoDbEventStore } from '../../src/storage/dynamodb/dynamodb-store.ts';
import { eventItems, itemKey } from '../../src/storage/dynamodb/items.ts';
import { A, HEAD_SK } from '../../src/storage/dynamodb/keys.ts';
import { createTableCommand } from '../../src/storage/dynamodb/table.ts';
import { interceptSend, startDynamoDbLocal, type DynamoDbLocal } from '../../test/support/dynamodb-local.ts';
import { best, DATABASE, inTurn, progress, type BenchContext } from '../lib/context.ts';
import { appendEventJson } from '../lib/events.ts';
import { ratio, type Row } from '../lib/report.ts';

const CALLERS = 16;
const LARGE = 49;
const REGION = 'us-east-1';
const TIMEOUTS = { connectTimeoutMs: 1000, requestTimeoutMs: 10_000, requestAttempts: 3 };

interface Run {
  eventsPerSecond: number;
  /** Transactions that carried events, and appends they carried. */
  transactions: number;
  appends: number;
  events: number;
  /** CPU time per event, in µs: this process, and DynamoDB Local. */
  nodeUsPerEvent: number;
  jvmUsPerEvent: number;
  /** Transaction actions (items written or checked) sent per event. */
  actionsPerEvent: number;
}

/** CPU time of a process from /proc (Linux), in µs; utime and stime count clock ticks of 10 ms. */
async function processCpuUs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Runs `work` and measures it: `work` returns the events and appends it wrote. */
async function measured(local: DynamoDbLocal, work: () => Promise<{ events: number; appends: number; transactions: number; actions: number }>): Promise<Run> {
  const cpu = process.cpuUsage();
  const jvm = await processCpuUs(local.pid);
  const started = performance.now();
  const { events, appends, transactions, actions } = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const jvmUs = (await processCpuUs(local.pid)) - jvm;
  return { eventsPerSecond: events / seconds, transactions, appends, events, nodeUsPerEvent: (used.user + used.system) / events, jvmUsPerEvent: jvmUs / events, actionsPerEvent: actions / events };
}

let serial = 0;
const nextEvents = (tag: string, count: number): CloudEvent[] => Array.from({ length: count }, () => JSON.parse(appendEventJson(tag, serial++)) as CloudEvent);

/** The bare loop: one client, one transaction after the other, each as the adapter builds it. */
async function bareLoop(doc: DynamoDBDocumentClient, tableName: string, dbId: string, perTransaction: number, durationS: number): Promise<{ events: number; appends: number; transactions: number; actions: number }> {
  const head = { value: 0 };
  await doc.send(new PutCommand({ TableName: tableName, Item: { ...itemKey(dbId, HEAD_SK), [A.head]: 0 } }));
  const deadline = performance.now() + durationS * 1000;
  let transactions = 0;
  const absent = { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A.pk } };
  while (performance.now() < deadline) {
    const recordedtime = new Date().toISOString();
    const built = nextEvents('bare', perTransaction).map((event, i) => eventItems(dbId, event, head.value + 1 + i, recordedtime, Date.now()));
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: itemKey(dbId, HEAD_SK),
              UpdateExpression: 'SET #head = :next',
              ConditionExpression: '#head = :head',
              ExpressionAttributeNames: { '#head': A.head },
              ExpressionAttributeValues: { ':head': head.value, ':next': head.value + perTransaction },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          ...built.map(({ event }) => ({ Put: { TableName: tableName, Item: event, ...absent } })),
          ...built.map(({ key }) => ({ Put: { TableName: tableName, Item: key, ...absent, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } })),
        ],
      }),
    );
    head.value += perTransaction;
    transactions++;
  }
  return { events: head.value, appends: transactions, transactions, actions: transactions * (1 + 2 * perTransaction) };
}

/** `callers` appending `perAppend` events each, one append after the other, until the deadline. */
async function storeLoad(store: DynamoDbEventStore, counts: { transactions: number; actions: number }, callers: number, perAppend: number, durationS: number) {
  const before = { ...counts };
  const deadline = performance.now() + durationS * 1000;
  let events = 0;
  let appends = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        const outcome = await store.appendTransaction(DATABASE, { events: nextEvents('store', perAppend), recordedtime: new Date().toISOString() });
        if (outcome.kind !== 'appended') throw new Error(`append: ${JSON.stringify(outcome)}`);
        events += perAppend;
        appends++;
      }
    }),
  );
  // The latest-value items are part of the work: the run ends when they are written.
  await store.settleCatchUps();
  return { events, appends, transactions: counts.transactions - before.transactions, actions: counts.actions - before.actions };
}

export async function dynamodbAppends(ctx: BenchContext): Promise<Row[]> {
  const { durationS, warmupS, rounds } = ctx.options;
  // Each run adds thousands of items to an in-memory database: a roomy heap keeps GC out of the figures.
  const local = await startDynamoDbLocal({ heapMb: 1024 });
  const credentials = { accessKeyId: `bench${process.pid}x${Date.now()}`, secretAccessKey: 'local' };
  const options = { endpoint: local.endpoint, region: REGION, credentials };
  const bareClient = buildClient(options, TIMEOUTS);
  const bare = documentClient(bareClient);
  // Transactions that carry events, as the store sends them (catch-ups carry none), and the actions of all.
  const counts = { transactions: 0, actions: 0 };
  const storeClient = interceptSend(buildClient(options, TIMEOUTS), (command) => {
    if (command instanceof TransactWriteItemsCommand) {
      if (command.input.TransactItems?.some((a) => a.Put)) counts.transactions++;
      counts.actions += command.input.TransactItems?.length ?? 0;
    }
    return undefined;
  });
  const store = new DynamoDbEventStore({ tableName: 'bench-store', client: storeClient, createTable: true });
  try {
    await store.open();
    await store.createDatabase(DATABASE, new Date().toISOString());
    await bareClient.send(createTableCommand('bench-bare'));
    let loop = 0;
    const bareRun = (perTransaction: number, seconds: number) => measured(local, () => bareLoop(bare, 'bench-bare', `db#bare#${++loop}`, perTransaction, seconds));
    const storeRun = (callers: number, perAppend: number, seconds: number) => measured(local, () => storeLoad(store, counts, callers, perAppend, seconds));
    if (warmupS > 0) {
      await bareRun(1, warmupS);
      await storeRun(CALLERS, 1, warmupS);
      await bareRun(LARGE, warmupS);
      await storeRun(1, LARGE, warmupS);
    }
    let round = 0;
    const results = await inTurn(rounds, {
      bare1: () => {
        progress(`7: round ${++round}/${rounds}: bare loop of single-event transactions, 1 client (${durationS} s)`);
        return bareRun(1, durationS);
      },
      store1: () => {
        progress(`7: round ${round}/${rounds}: single-event appends, ${CALLERS} callers (${durationS} s)`);
        return storeRun(CALLERS, 1, durationS);
      },
      bare49: () => {
        progress(`7: round ${round}/${rounds}: bare loop of ${LARGE}-event transactions, 1 client (${durationS} s)`);
        return bareRun(LARGE, durationS);
      },
      store49: () => {
        progress(`7: round ${round}/${rounds}: ${LARGE}-event appends, 1 caller (${durationS} s)`);
        return storeRun(1, LARGE, durationS);
      },
    });
    const head = (await store.getDatabase(DATABASE))!.latest_revision;
    const written = results.store1.concat(results.store49).reduce((n, r) => n + r.events, 0);
    if (head < written) throw new Error(`the database holds ${head} events after ${written} acknowledged`);
    return rows(results, rounds);
  } finally {
    await store.close();
    bareClient.destroy();
    await local.stop();
  }
}

function rows(results: Record<'bare1' | 'store1' | 'bare49' | 'store49', Run[]>, rounds: number): Row[] {
  const score = (r: Run) => r.eventsPerSecond;
  const [bare1, store1, bare49, store49] = [best(results.bare1, score), best(results.store1, score), best(results.bare49, score), best(results.store49, score)];
  const small = ratio(store1.eventsPerSecond, bare1.eventsPerSecond);
  const large = ratio(store49.eventsPerSecond, bare49.eventsPerSecond);
  const actions = (run: Run) => `${run.actionsPerEvent.toFixed(2)} transaction actions per event`;
  const cpu = (run: Run) => `Node ${run.nodeUsPerEvent.toFixed(0)} µs, DynamoDB Local ${run.jvmUsPerEvent.toFixed(0)} µs per event`;
  return [
    {
      id: '7a',
      what: `DynamoDB single-event appends, ${CALLERS} callers (group commit)`,
      result: { value: store1.eventsPerSecond, unit: 'events/s' },
      baseline: { what: 'bare TransactWriteItems loop, 1 client', value: bare1.eventsPerSecond, unit: 'events/s' },
      ratio: small,
      target: '≥ 1×',
      met: small >= 1,
      notes: `${(store1.appends / store1.transactions).toFixed(1)} appends per transaction, ${actions(store1)} (bare loop: ${actions(bare1)}); ${cpu(store1)} (bare loop: ${cpu(bare1)}); best of ${rounds} rounds each`,
    },
    {
      id: '7b',
      what: '  CPU per append, this process',
      result: { value: store1.nodeUsPerEvent, unit: 'µs' },
      baseline: { what: 'bare TransactWriteItems loop, 1 client', value: bare1.nodeUsPerEvent, unit: 'µs' },
      ratio: ratio(store1.nodeUsPerEvent, bare1.nodeUsPerEvent),
    },
    {
      id: '7c',
      what: `DynamoDB ${LARGE}-event appends, 1 caller`,
      result: { value: store49.eventsPerSecond, unit: 'events/s' },
      baseline: { what: 'bare loop of the same transactions', value: bare49.eventsPerSecond, unit: 'events/s' },
      ratio: large,
      target: '≥ 0.8×',
      met: large >= 0.8,
      notes: `latest-value items written by a catch-up after each append, counted in the time; ${actions(store49)} (bare loop: ${actions(bare49)}); ${cpu(store49)} (bare loop: ${cpu(bare49)})`,
    },
    {
      id: '7d',
      what: '  CPU per event, this process',
      result: { value: store49.nodeUsPerEvent, unit: 'µs' },
      baseline: { what: 'bare loop of the same transactions', value: bare49.nodeUsPerEvent, unit: 'µs' },
      ratio: ratio(store49.nodeUsPerEvent, bare49.nodeUsPerEvent),
    },
  ];
}
