import { InvalidArgumentError } from './errors.ts';

/**
 * Database names: 1–63 characters of lowercase letters, digits and hyphens, starting and ending
 * with a letter or digit (the shape of a DNS label, so a name is safe in a URL, a file name and a
 * DynamoDB key alike).
 */
export const DATABASE_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function assertDatabaseName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !DATABASE_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      'Database name must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
      { field, value: typeof name === 'string' ? name.slice(0, 100) : name },
    );
  }
}
