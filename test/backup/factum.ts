/** Running the factum command in tests: in this process (quick), or as its own process, as installed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { factumProgram } from '../../src/cli/program.ts';

export const FACTUM_BIN = fileURLToPath(new URL('../../src/cli/factum.mjs', import.meta.url));

/** Runs a command in this process; a failure is thrown (a CommandError with the message the user sees). */
export async function factum(...args: string[]): Promise<void> {
  await factumProgram().parseAsync(['node', 'factum', ...args]);
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  finished: Promise<Finished>;
}

/** Starts the command as the bin runs it, with `stdin` piped in if given. */
export function spawnFactum(args: string[], options: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {}): Running {
  const child = spawn(process.execPath, [FACTUM_BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.stdin);
  const finished = new Promise<Finished>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, finished };
}

export function runFactumProcess(args: string[], options: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return spawnFactum(args, options).finished;
}
