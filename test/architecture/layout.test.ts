/**
 * The layout the README describes, checked: no import cycle anywhere in src/, dependencies that
 * point one way (route → use case → core / storage / wasm, never back up), and modules small
 * enough to read. Generated files (src/<area>/generated/) are written by tools, not by hand,
 * and are exempt from the size limit.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { beforeAll, describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const MAX_LINES = 500;

/** What each area of src/ may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  schema: ['core'],
  storage: ['core'],
  wasm: ['core'],
  usecases: ['core', 'schema', 'storage', 'wasm'],
  http: ['core', 'schema', 'usecases'],
  // Prometheus metrics: observers of storage and components, gauges read from the use cases.
  metrics: ['storage', 'wasm', 'usecases'],
  // The composition root: builds the context from every part.
  // The factum command: serve builds a server, the others work over HTTP or read files.
  cli: ['.', 'core', 'schema', 'storage'],
  '.': ['core', 'schema', 'storage', 'wasm', 'usecases', 'http', 'cli', 'metrics'],
};

const areaOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

let graph: Record<string, string[]>;
let cycles: string[][];

beforeAll(async () => {
  const result = await madge(SRC, { fileExtensions: ['ts', 'mjs'], detectiveOptions: { ts: { skipTypeImports: false } } });
  graph = result.obj();
  cycles = result.circular();
});

describe('the source tree', () => {
  it('has no import cycle', () => {
    expect(Object.keys(graph).length).toBeGreaterThan(50);
    expect(cycles).toEqual([]);
  });

  it('has dependencies that point one way between its areas', () => {
    const wrong: string[] = [];
    for (const [file, imports] of Object.entries(graph)) {
      const from = areaOf(file);
      const allowed = ALLOWED[from];
      expect(allowed, `an area of src/ the layout does not know: ${from} (${file})`).toBeDefined();
      for (const target of imports) {
        const to = areaOf(target);
        if (to !== from && !allowed!.includes(to)) wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it(`has no hand-written module over ${MAX_LINES} lines`, async () => {
    const long: string[] = [];
    for (const file of Object.keys(graph)) {
      if (file.includes('/generated/')) continue;
      const lines = (await readFile(`${SRC}/${file}`, 'utf8')).split('\n').length;
      if (lines > MAX_LINES) long.push(`${file}: ${lines} lines`);
    }
    expect(long).toEqual([]);
  });
});
