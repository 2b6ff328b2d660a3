/** The table the adapter needs: created on request, otherwise checked before use. */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { UnavailableError } from '../../core/errors.ts';
import { A, INDEXES, INDEX_PROJECTED_ATTRIBUTES } from './keys.ts';

const ACTIVE_POLL_MS = 250;
const ACTIVE_TIMEOUT_MS = 5 * 60_000;

export function createTableCommand(tableName: string): CreateTableCommand {
  return new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: A.pk, AttributeType: 'S' },
      { AttributeName: A.sk, AttributeType: 'S' },
      { AttributeName: A.revision, AttributeType: 'N' },
      ...Object.values(INDEXES).map((index) => ({ AttributeName: index.keyAttribute, AttributeType: 'S' as const })),
    ],
    KeySchema: [
      { AttributeName: A.pk, KeyType: 'HASH' },
      { AttributeName: A.sk, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: Object.values(INDEXES).map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.keyAttribute, KeyType: 'HASH' },
        { AttributeName: A.revision, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: INDEX_PROJECTED_ATTRIBUTES },
    })),
  });
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/**
 * Makes sure the table exists with the expected keys and indexes and is usable. With `create`,
 * a missing table is created (concurrent servers may race to do so; the loser just waits).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, create: boolean): Promise<void> {
  let table = await describe(client, tableName);
  if (!table) {
    if (!create) {
      throw new UnavailableError(
        `DynamoDB table "${tableName}" does not exist; create it, or open the store with table creation enabled (createTable)`,
        { table: tableName },
      );
    }
    try {
      await client.send(createTableCommand(tableName));
    } catch (error) {
      if ((error as Error).name !== 'ResourceInUseException') throw error;
    }
    table = await describe(client, tableName);
  }
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  while (!isReady(table)) {
    if (Date.now() > deadline) {
      throw new UnavailableError(`DynamoDB table "${tableName}" did not become ACTIVE within ${ACTIVE_TIMEOUT_MS / 1000} s`, {
        table: tableName,
        status: table?.TableStatus,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
    table = await describe(client, tableName);
  }
  assertSchema(tableName, table!);
}

function isReady(table: TableDescription | undefined): boolean {
  if (!table || (table.TableStatus !== 'ACTIVE' && table.TableStatus !== 'UPDATING')) return false;
  // An index still being built would answer queries with partial results.
  return (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE' || index.IndexStatus === 'UPDATING');
}

function assertSchema(tableName: string, table: TableDescription): void {
  const problems: string[] = [];
  const hash = table.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = table.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (hash !== A.pk || range !== A.sk) problems.push(`key schema must be ${A.pk} (HASH, S) + ${A.sk} (RANGE, S)`);
  for (const { indexName, keyAttribute } of Object.values(INDEXES)) {
    const index = table.GlobalSecondaryIndexes?.find((i) => i.IndexName === indexName);
    const indexHash = index?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const indexRange = index?.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (!index || indexHash !== keyAttribute || indexRange !== A.revision) {
      problems.push(`global secondary index ${indexName} must be ${keyAttribute} (HASH, S) + ${A.revision} (RANGE, N)`);
      continue;
    }
    const projection = index.Projection;
    const covers =
      projection?.ProjectionType === 'ALL' ||
      (projection?.ProjectionType === 'INCLUDE' && INDEX_PROJECTED_ATTRIBUTES.every((a) => projection.NonKeyAttributes?.includes(a)));
    if (!covers) problems.push(`global secondary index ${indexName} must project ${INDEX_PROJECTED_ATTRIBUTES.join(', ')}`);
  }
  if (problems.length > 0) {
    throw new UnavailableError(`DynamoDB table "${tableName}" does not have the layout Factum needs: ${problems.join('; ')}`, {
      table: tableName,
      problems,
    });
  }
}
