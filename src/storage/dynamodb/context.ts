/**
 * What every operation of the DynamoDB adapter is handed: the clients, the table, the settings
 * and what this server remembers of the databases. The store creates one per instance; the
 * operation modules keep no state of their own beyond what hangs off this context.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StoreObserver } from '../types.ts';

export interface Settings {
  /**
   * For queries that accept index lag only: how long after its commit an event is assumed to be
   * in the GSIs; younger events are read from the base table. A heuristic, never a decision.
   */
  indexSettleMs: number;
  /** Revision ranges up to this long are read from the base table even for queries that accept lag. */
  directScanMaxRevisions: number;
  /** Attempts after the first when DynamoDB cancels a transaction for conflicts or throttling. */
  conflictRetries: number;
  /** Ceiling of the first wait between such attempts; it doubles with each further one. */
  retryBaseDelayMs: number;
  /** The longest one store operation may wait on DynamoDB before it fails with UNAVAILABLE. */
  operationTimeoutMs: number;
}

/** One life of a database name: its catalog entry and the partition it points to. */
export interface Incarnation {
  name: string;
  createdAt: string;
  dbId: string;
  /** The latest head this server saw; appends start from it and correct it when it is stale. */
  head?: number;
  /**
   * The latest `lt` of the head item this server saw: the latest-value items account for every
   * event up to it. It only grows, so a stale value is merely cautious.
   */
  latestThrough?: number;
}

/** Events a commit wrote without their latest-value items: what a catch-up need not read. */
export interface Uncovered {
  from: number;
  to: number;
  events: Array<{ revision: number; event: { source: string; type: string; subject?: string } }>;
}

/** A catch-up under way: it looks again once more if asked to while it runs. */
export interface CatchUpRun {
  done: Promise<void>;
  again: boolean;
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
  /** Catch-ups of latest-value items under way, by database id; close() waits for them. */
  readonly catchUps: Map<string, CatchUpRun>;
  /** False once the store closes: background work stops at its next step. */
  isOpen(): boolean;
  /** Told of each transaction DynamoDB answers (for the server's metrics). */
  readonly observer?: StoreObserver;
}
