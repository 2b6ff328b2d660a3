/**
 * Who may do what: API keys, the permissions they carry and the databases they reach. Pure
 * rules; where keys are kept and how requests carry them is decided elsewhere.
 *
 * - `read`: list and describe databases, query and read events, render state views, subscribe
 *   (consumers included: registering and acking one is part of reading);
 * - `write`: append events and process commands;
 * - `deploy`: upload and delete state views and state changes;
 * - `admin`: create and delete databases, import, set quotas, manage keys; it includes every
 *   other permission;
 * - `metrics`: scrape `/metrics`, and nothing else.
 */
export const PERMISSIONS = ['read', 'write', 'deploy', 'admin', 'metrics'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What an operation needs: a permission, or nothing at all (`public`). */
export type Requirement = Permission | 'public';

/** Every database, in a key's list of databases. */
export const ALL_DATABASES = '*';

/** An API key as stored and shown: everything but its secret. */
export interface ApiKey {
  id: string;
  name: string;
  /** Database names, or `*` for every database. */
  databases: string[];
  permissions: Permission[];
  created_at: string;
  /** After this instant the key is refused; null: it never expires. */
  expires_at: string | null;
}

/** The caller of a request: anyone (the server has no keys yet), or the holder of a key. */
export type Principal = { kind: 'open' } | { kind: 'key'; key: ApiKey };

export const OPEN: Principal = { kind: 'open' };

export function hasPermission(key: ApiKey, permission: Permission): boolean {
  return key.permissions.includes(permission) || key.permissions.includes('admin');
}

export function reachesDatabase(key: ApiKey, database: string): boolean {
  return key.databases.includes(ALL_DATABASES) || key.databases.includes(database);
}

/** Why a principal may not do something, or undefined when it may. */
export type Refusal = { reason: 'permission'; permission: Permission } | { reason: 'database'; database: string };

/**
 * Whether `principal` may exercise `permission`, on `database` when the operation is about one.
 * Without a database, a key needs the permission for its databases, whichever they are; the
 * operations that act on the server as a whole (keys, creating databases by any name) ask for
 * `database` `*`, which only a key for every database reaches.
 */
export function refusalOf(principal: Principal, permission: Permission, database?: string): Refusal | undefined {
  if (principal.kind === 'open') return undefined;
  if (!hasPermission(principal.key, permission)) return { reason: 'permission', permission };
  if (database !== undefined && !reachesDatabase(principal.key, database)) return { reason: 'database', database };
  return undefined;
}

export function isExpired(key: ApiKey, now: Date): boolean {
  return key.expires_at !== null && Date.parse(key.expires_at) <= now.getTime();
}

/** The databases of `databases` a principal may read, in their order. */
export function readableDatabases<T extends { name: string }>(principal: Principal, databases: T[]): T[] {
  return databases.filter((db) => refusalOf(principal, 'read', db.name) === undefined);
}
