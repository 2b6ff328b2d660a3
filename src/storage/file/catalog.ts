/**
 * Creating and deleting database directories so that a crash at any point leaves a database
 * there whole or not at all: a new one is built in tmp/ and renamed into place, a deleted one is
 * renamed into trash/ before its files are removed. Both staging directories are emptied on
 * start (resetStaging), which is all the cleanup a crash needs.
 */
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileDatabase, LOG_FILE, META_FILE } from './database.ts';
import { fsyncDirectory } from './fs-util.ts';

const stagingDir = (dataDir: string) => join(dataDir, 'tmp');
const trashDir = (dataDir: string) => join(dataDir, 'trash');
/** A name in staging no other create or delete picks, even of the same database. */
const stagedName = (name: string) => `${name}.${randomBytes(6).toString('hex')}`;

/** Removes the leftovers of a create or delete interrupted by a crash. Call with the lock held. */
export async function resetStaging(dataDir: string): Promise<void> {
  await rm(stagingDir(dataDir), { recursive: true, force: true });
  await rm(trashDir(dataDir), { recursive: true, force: true });
  await mkdir(stagingDir(dataDir));
  await mkdir(trashDir(dataDir));
}

/** Creates databases/<name>/ with its metadata and an empty log, and opens it. */
export async function createDatabaseDirectory(dataDir: string, databasesDir: string, name: string, createdAt: string): Promise<FileDatabase> {
  const staging = join(stagingDir(dataDir), stagedName(name));
  await mkdir(staging);
  await writeFile(join(staging, META_FILE), JSON.stringify({ name, created_at: createdAt }), { flush: true });
  await (await open(join(staging, LOG_FILE), 'wx')).close();
  await fsyncDirectory(staging);
  const dir = join(databasesDir, name);
  await rename(staging, dir);
  await fsyncDirectory(databasesDir);
  return new FileDatabase(name, createdAt, dir, await open(join(dir, LOG_FILE), 'r+'));
}

/** Removes a database whose log is closed. */
export async function removeDatabaseDirectory(dataDir: string, databasesDir: string, db: FileDatabase): Promise<void> {
  // One rename takes the database out of sight; removing the files can then fail harmlessly.
  const doomed = join(trashDir(dataDir), stagedName(db.name));
  await rename(db.dir, doomed);
  await fsyncDirectory(databasesDir);
  await rm(doomed, { recursive: true, force: true });
}
