/** Reading the Prometheus text format back in tests: samples by name and labels. */
import { expect } from 'vitest';
import type { TestClient } from '../support/http.ts';

export type Labels = Record<string, string>;

export class Scrape {
  readonly #samples = new Map<string, number>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Labels = {};
      for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[name!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
      this.#samples.set(keyOf(match[1]!, labels), Number(match[3]));
    }
  }

  /** The sample's value; 0 for a series that is not there (a counter not yet counted). */
  value(name: string, labels: Labels = {}): number {
    return this.#samples.get(keyOf(name, labels)) ?? 0;
  }

  has(name: string, labels: Labels = {}): boolean {
    return this.#samples.has(keyOf(name, labels));
  }

  /** Every label set of `name`. */
  series(name: string): Labels[] {
    return [...this.#samples.keys()].filter((key) => key.startsWith(`${name}\u0000`)).map((key) => JSON.parse(key.slice(name.length + 1)) as Labels);
  }
}

function keyOf(name: string, labels: Labels): string {
  return `${name}\u0000${JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))))}`;
}

export async function scrape(client: TestClient, headers?: Record<string, string>): Promise<Scrape> {
  const reply = await client.get('/metrics', headers);
  expect(reply.status, reply.text.slice(0, 300)).toBe(200);
  expect(reply.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(reply.text);
}

/** How much each sample moved between two scrapes. */
export function moved(before: Scrape, after: Scrape) {
  return (name: string, labels: Labels = {}) => after.value(name, labels) - before.value(name, labels);
}
