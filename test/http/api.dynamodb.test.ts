/** The HTTP API suite once more, on the DynamoDB adapter against DynamoDB Local. */
import { afterAll, beforeAll } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { startTestServer } from '../support/server.ts';
import { describeApiSuite } from './api-suite.ts';

// DynamoDB Local keeps tables apart per access key: a key of its own isolates this file. The
// server finds it through the standard AWS credential chain, as it would in production.
process.env.AWS_ACCESS_KEY_ID = `api${process.pid}`;
process.env.AWS_SECRET_ACCESS_KEY = 'local';

let local: DynamoDbLocal;
beforeAll(async () => {
  local = await startDynamoDbLocal();
});
afterAll(() => local?.stop());

describeApiSuite('dynamodb', () =>
  startTestServer(
    { storage: 'dynamodb', dynamodbEndpoint: local.endpoint, dynamodbTable: 'factum-api', region: 'us-east-1', createTable: true },
  ),
);
