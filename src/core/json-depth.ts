/**
 * How deeply a JSON value nests. Input nested thousands of levels deep is valid JSON, and
 * `JSON.parse` reads it, but every recursive step after that — schema validation, selector
 * parsing, `JSON.stringify` of a stored event — would overflow the stack. Requests are checked
 * against a documented limit first, by an iterative walk that itself cannot overflow.
 */

/** Levels of arrays and objects a request body may nest (openapi.yaml says so too). */
export const MAX_JSON_DEPTH = 128;

/** Whether `value` nests more than `limit` levels of arrays and objects. Stops at the first such path. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    const children = Array.isArray(current) ? current : Object.values(current as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
  }
  return false;
}
