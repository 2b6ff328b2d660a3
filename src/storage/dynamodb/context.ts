/**
 * What every operation of the DynamoDB adapter is handed: the clients, the table, the settings
 * and what this server remembers of the databases. The store creates one per instance; the
 * operation modules (catalog, append, read, blobs, cleanup) keep no state of their own.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface Settings {
  /** How long after its commit an event is assumed to be in the GSIs. */
  indexSettleMs: number;
  /** Revision ranges up to this long are read from the base table even for selective queries. */
  directScanMaxRevisions: number;
  /** Attempts after the first when DynamoDB cancels a transaction for conflicts or throttling. */
  conflictRetries: number;
  /** Ceiling of the first wait between such attempts; it doubles with each further one. */
  retryBaseDelayMs: number;
}

/** One life of a database name: its catalog entry and the partition it points to. */
export interface Incarnation {
  name: string;
  createdAt: string;
  dbId: string;
  /** The latest head this server saw; appends start from it and correct it when it is stale. */
  head?: number;
  /** Value items (sort keys) known to exist, so appends do not write them again. */
  listedValues: Set<string>;
}

export interface StoreContext {
  /** The low-level client, for the table itself (describe, create). */
  readonly client: DynamoDBClient;
  /** Items as plain objects; everything that reads or writes items goes through it. */
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly settings: Settings;
  /** The incarnation this server last saw of each name. */
  readonly known: Map<string, Incarnation>;
  /** False once the store closes: background work stops at its next step. */
  isOpen(): boolean;
}
