import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbEventStore, type DynamoDbEventStoreOptions } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { EventQuery, EventStore } from '../../src/storage/types.ts';
import { useDynamoDbLocal } from '../support/dynamodb-local.ts';
import { describeEventStoreConformance, type StoreFixture } from './conformance.ts';

const dynamo = useDynamoDbLocal('conformance');
const { credentials } = dynamo;

let tables = 0;

/**
 * The store with every query accepting index lag, as the plain query API may: the reads the
 * GSIs answer.
 */
function acceptingLag(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'query') return (database: string, query: EventQuery) => target.query(database, { ...query, allowIndexLag: true });
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Each test gets a table of its own; `reopen` is a second server on the same table. */
function fixture(options: Partial<DynamoDbEventStoreOptions>, wrap: (store: EventStore) => EventStore = (s) => s): () => Promise<StoreFixture> {
  return async () => {
    const tableName = `conformance-${++tables}`;
    const make = async (): Promise<EventStore> => {
      const store = new DynamoDbEventStore({ tableName, endpoint: dynamo.local.endpoint, region: 'us-east-1', credentials, createTable: true, ...options });
      await store.open();
      return wrap(store);
    };
    let store = await make();
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await make();
        return store;
      },
      cleanup: async () => {
        await store.close();
        await dynamo.admin.send(new DeleteTableCommand({ TableName: tableName }));
      },
    };
  };
}

// Defaults: every query is exact, read from the base table where the latest-value items point.
describeEventStoreConformance('dynamodb', fixture({}));
// Every selective query accepts lag and goes through the GSIs (DynamoDB Local updates them
// synchronously); appends, guards and type-ahead are exact all the same.
describeEventStoreConformance('dynamodb via indexes', fixture({ indexSettleMs: 0, directScanMaxRevisions: 0 }, acceptingLag));
