import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoDbEventStore, type DynamoDbEventStoreOptions } from '../../src/storage/dynamodb/dynamodb-store.ts';
import type { EventStore } from '../../src/storage/types.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { describeEventStoreConformance, type StoreFixture } from './conformance.ts';

let local: DynamoDbLocal;
let admin: DynamoDBClient;
const credentials = { accessKeyId: `conformance${process.pid}x${Date.now()}`, secretAccessKey: 'local' };

beforeAll(async () => {
  local = await startDynamoDbLocal();
  admin = new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials });
});

afterAll(async () => {
  admin?.destroy();
  await local?.stop();
});

let tables = 0;

/** Each test gets a table of its own; `reopen` is a second server on the same table. */
function fixture(options: Partial<DynamoDbEventStoreOptions>): () => Promise<StoreFixture> {
  return async () => {
    const tableName = `conformance-${++tables}`;
    const make = async (): Promise<EventStore> => {
      const store = new DynamoDbEventStore({ tableName, endpoint: local.endpoint, region: 'us-east-1', credentials, createTable: true, ...options });
      await store.open();
      return store;
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
        await admin.send(new DeleteTableCommand({ TableName: tableName }));
      },
    };
  };
}

// Defaults: selective queries over short ranges and recent events read the base table.
describeEventStoreConformance('dynamodb', fixture({}));
// Every selective query goes through the GSIs (DynamoDB Local updates them synchronously).
describeEventStoreConformance('dynamodb via indexes', fixture({ indexSettleMs: 0, directScanMaxRevisions: 0 }));
