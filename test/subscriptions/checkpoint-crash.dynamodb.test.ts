/** The checkpoint crash run (checkpoint-crash.ts) with DynamoDB storage: the server is SIGKILLed mid-transaction. */
import { afterAll, beforeAll, it } from 'vitest';
import { startChildServer } from '../support/child-server.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { projectAcrossCrashes } from './checkpoint-crash.ts';

let local: DynamoDbLocal;
beforeAll(async () => {
  local = await startDynamoDbLocal();
}, 60_000);
afterAll(() => local?.stop());

it('commits a projection’s events and its position together or not at all across SIGKILLs', () =>
  projectAcrossCrashes(() =>
    startChildServer(['--storage', 'dynamodb', '--log-level', 'info'], {
      FACTUM_DYNAMODB_ENDPOINT: local.endpoint,
      FACTUM_DYNAMODB_TABLE: 'factum-checkpoint-crash',
      FACTUM_DYNAMODB_CREATE_TABLE: '1',
      AWS_REGION: 'us-east-1',
      // DynamoDB Local keeps tables apart per access key: a key of its own isolates this file.
      AWS_ACCESS_KEY_ID: `checkpoint${process.pid}`,
      AWS_SECRET_ACCESS_KEY: 'local',
    }),
  ), 180_000);
