/** `src/cli.ts` for the composed server: what the crash test runs until src/server.ts is wired. */
import { parseArgs } from 'node:util';
import { startComposedServer } from './composed-server.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, 'log-level': { type: 'string' } } });
const server = await startComposedServer({ port: values.port, dataDir: values['data-dir'], storage: 'file' }, values['log-level'] ?? 'info');
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
