/**
 * A database's blobs (uploaded components, state-view snapshots): one file each under
 * databases/<name>/blobs/, written aside and renamed or linked into place so a reader never
 * sees half a blob.
 */
import { link, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDirectory } from './fs-util.ts';

/** Blob keys map to flat file names: `/` cannot appear in a name, `~` cannot appear in a key. */
const blobFileName = (key: string) => key.replaceAll('/', '~');
const blobKeyOf = (fileName: string) => fileName.replaceAll('~', '/');

/** Stores a blob; with `ifAbsent`, only if there is none under `key` (then returns false). */
export async function putBlob(dir: string, key: string, bytes: Uint8Array, ifAbsent: boolean): Promise<boolean> {
  const staging = join(dir, `.staging-${randomBytes(6).toString('hex')}`);
  await writeFile(staging, bytes, { flush: true });
  try {
    if (ifAbsent) {
      // link() fails if the name exists: an atomic create-if-absent.
      try {
        await link(staging, join(dir, blobFileName(key)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    } else {
      await rename(staging, join(dir, blobFileName(key)));
    }
    await fsyncDirectory(dir);
    return true;
  } finally {
    await rm(staging, { force: true });
  }
}

export async function getBlob(dir: string, key: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(join(dir, blobFileName(key))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function listBlobs(dir: string, prefix: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => !f.startsWith('.')) // staging files
    .map(blobKeyOf)
    .filter((k) => k.startsWith(prefix))
    .sort();
}

/** Deletes the blobs whose keys start with `prefix` (with `exact`, only the one named so). */
export async function deleteBlobs(dir: string, prefix: string, options: { exact?: boolean } = {}): Promise<number> {
  const keys = (await listBlobs(dir, prefix)).filter((k) => !options.exact || k === prefix);
  const doomed = keys.map((k) => join(dir, blobFileName(k)));
  await Promise.all(doomed.map((f) => rm(f, { force: true })));
  if (doomed.length > 0) await fsyncDirectory(dir);
  return doomed.length;
}
