/**
 * Which operation of openapi.yaml a request is, found from its method and path before any
 * router runs, so that who may call it is decided before its body is read.
 *
 * Paths match as Express matches them: case-insensitively, with or without a trailing slash.
 */
import { InvalidArgumentError } from '../../core/errors.ts';
import { operations, type OperationValidators } from '../../schema/openapi.ts';

interface Template {
  op: OperationValidators;
  pattern: RegExp;
  names: string[];
}

export interface MatchedOperation {
  op: OperationValidators;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(op: OperationValidators): Template {
  const names: string[] = [];
  const source = op.path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name === undefined) return escape(part);
      names.push(name);
      return '([^/]+)';
    })
    .join('');
  return { op, pattern: new RegExp(`^${source}/?$`, 'i'), names };
}

// Templates with fewer parameters first, so a literal segment wins over a parameter.
const templates = [...operations.values()].map(compile).sort((a, b) => a.names.length - b.names.length);
const byMethod = new Map<string, Template[]>();
for (const template of templates) {
  const method = template.op.method;
  byMethod.set(method, [...(byMethod.get(method) ?? []), template]);
}

/** The operation a request is, or undefined when openapi.yaml has none for it. */
export function matchOperation(method: string, path: string): MatchedOperation | undefined {
  const candidates = byMethod.get(method === 'HEAD' ? 'GET' : method) ?? [];
  for (const { op, pattern, names } of candidates) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => (params[name] = decodeSegment(match[i + 1]!, name)));
    return { op, params };
  }
  return undefined;
}

/** Whether some operation has this path, whatever its method (for 405-like answers and CORS). */
export function isApiPath(path: string): boolean {
  return templates.some(({ pattern }) => pattern.test(path));
}

function decodeSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(`the path's ${name} is not valid percent-encoding`, { field: name, value: segment.slice(0, 100) });
  }
}
