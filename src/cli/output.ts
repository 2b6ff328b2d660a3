/**
 * Where an export writes: a file (synced to disk when done, so a finished backup is on disk)
 * or stdout (with backpressure, so a slow pipe does not fill memory).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { CommandError } from './failure.ts';

export interface Output {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

export async function fileOutput(path: string, mode: 'w' | 'a'): Promise<Output> {
  const handle = await open(path, mode).catch((error: Error) => {
    throw new CommandError(`cannot write ${path}: ${error.message}`, 2);
  });
  return {
    write: (text) => handle.writeFile(text),
    close: async () => {
      await handle.sync();
      await handle.close();
    },
  };
}

export function stdoutOutput(stdout: NodeJS.WriteStream = process.stdout): Output {
  let failure: Error | undefined;
  stdout.on('error', (error) => (failure = error));
  return {
    write: async (text) => {
      if (failure) throw new CommandError(`cannot write to stdout: ${failure.message}`);
      if (!stdout.write(text)) await Promise.race([once(stdout, 'drain'), once(stdout, 'error')]);
    },
    close: async () => {
      if (failure) throw new CommandError(`cannot write to stdout: ${failure.message}`);
    },
  };
}

/**
 * Where an interrupted export into `path` continues: after the revision of its last complete
 * line. A last line cut short (no newline) is cut off, so the file ends on a whole event.
 */
export async function resumeFile(path: string): Promise<number> {
  const handle = await open(path, 'r+').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return 0;
  try {
    const { size } = await handle.stat();
    const complete = (await newlineBefore(handle, size)) + 1;
    if (complete < size) await handle.truncate(complete);
    if (complete === 0) return 0;
    const lineStart = (await newlineBefore(handle, complete - 1)) + 1;
    const line = Buffer.alloc(complete - 1 - lineStart);
    await handle.read(line, 0, line.length, lineStart);
    let revision: unknown;
    try {
      revision = (JSON.parse(line.toString('utf8')) as { revision?: unknown }).revision;
    } catch {
      revision = undefined;
    }
    if (!Number.isSafeInteger(revision)) throw new CommandError(`${path}: its last line is not an exported event; it is not an export to resume`, 2);
    return revision as number;
  } finally {
    await handle.close();
  }
}

/** The position of the last newline before `end`, or -1: read backwards in chunks. */
async function newlineBefore(handle: FileHandle, end: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let stop = end; stop > 0; ) {
    const start = Math.max(0, stop - chunk.length);
    await handle.read(chunk, 0, stop - start, start);
    const at = chunk.subarray(0, stop - start).lastIndexOf(10);
    if (at !== -1) return start + at;
    stop = start;
  }
  return -1;
}
