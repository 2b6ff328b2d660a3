/** Runs the real server as a child process, the way users start it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** The pid the server logged: not `process.pid` when a launcher such as npm runs it. */
  serverPid: number;
  /** Log lines written so far (JSON, one per line). */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChildServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  return startServerCommand(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', '0', ...args], env);
}

/**
 * Runs `command` in the repository root and resolves once the server it starts logs that it
 * listens. For starting it another way than startChildServer does, e.g. through `npm start`.
 */
export async function startServerCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { url, pid } = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; pid: number };
        if (entry.msg === 'factum listening' && entry.url) resolve({ url: entry.url, pid: entry.pid });
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`server did not start in time: ${stderr}`)), 30_000).unref();
  });
  return { url, process: child, serverPid: pid, logs, exited };
}
