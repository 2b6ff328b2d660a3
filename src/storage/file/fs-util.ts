import { open, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnavailableError } from '../../core/errors.ts';

/** Makes a rename or create inside `dir` durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface DirectoryLock {
  release(): Promise<void>;
}

/**
 * Two processes appending to the same logs would corrupt them, so a data directory belongs to
 * one process at a time. The LOCK file holds the owner's pid; a lock left by a process that no
 * longer runs (a crash) is taken over.
 */
export async function acquireDirectoryLock(dataDir: string): Promise<DirectoryLock> {
  const path = join(dataDir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx', flush: true });
      return { release: () => unlink(path).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
        throw new UnavailableError(`data directory ${dataDir} is in use by process ${owner}`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
  throw new UnavailableError(`could not lock data directory ${dataDir}`);
}

/** Whether a process with this pid exists (one of another user's counts). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
