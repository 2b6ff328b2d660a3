import { startTestServer } from '../support/server.ts';
import { describeApiSuite } from './api-suite.ts';

describeApiSuite('memory', () => startTestServer({ storage: 'memory' }));
