import type { FactumConfig } from '../config.ts';
import { DynamoDbEventStore } from './dynamodb/dynamodb-store.ts';
import { FileEventStore } from './file/file-store.ts';
import { MemoryEventStore } from './memory.ts';
import type { EventStore } from './types.ts';

export function createStore(config: FactumConfig): EventStore {
  switch (config.storage) {
    case 'file':
      return new FileEventStore({ dataDir: config.dataDir });
    case 'memory':
      return new MemoryEventStore();
    case 'dynamodb':
      return new DynamoDbEventStore({
        tableName: config.dynamodb.table,
        endpoint: config.dynamodb.endpoint,
        region: config.dynamodb.region,
        createTable: config.dynamodb.createTable,
        indexSettleMs: config.dynamodb.indexSettleMs,
      });
  }
}
