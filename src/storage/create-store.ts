/**
 * Builds the storage adapter a server was configured with. Each adapter takes its own options;
 * storage knows nothing of the application's configuration.
 */
import { DynamoDbEventStore, type DynamoDbEventStoreOptions } from './dynamodb/dynamodb-store.ts';
import { FileEventStore, type FileEventStoreOptions } from './file/file-store.ts';
import { MemoryEventStore, type MemoryEventStoreOptions } from './memory.ts';
import type { EventStore } from './types.ts';

export type StoreOptions =
  | ({ adapter: 'file' } & FileEventStoreOptions)
  | ({ adapter: 'memory' } & MemoryEventStoreOptions)
  | ({ adapter: 'dynamodb' } & DynamoDbEventStoreOptions);

export function createStore(options: StoreOptions): EventStore {
  switch (options.adapter) {
    case 'file':
      return new FileEventStore(options);
    case 'memory':
      return new MemoryEventStore(options);
    case 'dynamodb':
      return new DynamoDbEventStore(options);
  }
}
