/** Starts a real Factum server in this process on a free loopback port. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resolveConfig, type ConfigFlags } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { TestClient } from './http.ts';

export interface TestServer {
  server: RunningServer;
  client: TestClient;
  dataDir: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
  /** Stops and starts again on the same data. */
  restart(): Promise<TestServer>;
}

export async function startTestServer(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = {}): Promise<TestServer> {
  const dataDir = flags.dataDir ?? (await mkdtemp(join(tmpdir(), 'factum-test-')));
  const config = resolveConfig({ port: '0', storage: 'file', logLevel: 'silent', ...flags, dataDir }, env);
  const server = await startServer(config, pino({ level: 'silent' }));
  return {
    server,
    client: new TestClient(server.url),
    dataDir,
    stop: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
    restart: async () => {
      await server.close();
      return startTestServer({ ...flags, dataDir }, env);
    },
  };
}
