/** What every scenario gets: the options of the run, a scratch directory, shared datasets. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { batchBody, datasetEventJson } from './events.ts';
import { postJson, request } from './load.ts';
import { startFactum } from './processes.ts';

export interface BenchOptions {
  quick: boolean;
  /** Scenario numbers to run. */
  only: ReadonlySet<number>;
  /** Events of the large and the small database (scenarios 3, 4 and 6). */
  largeEvents: number;
  smallEvents: number;
  /** Seconds of each measured load run, and of the warm-up before the first. */
  durationS: number;
  warmupS: number;
  /** How many times each pair of measurements is taken, in turn (see `inTurn`). */
  rounds: number;
  /** Servers write CPU profiles. */
  cpuProf: boolean;
}

export const DATABASE = 'bench';
const LOAD_BATCH = 1000;
const LOAD_CONCURRENCY = 3;

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A data directory holding one database, `bench`, of `size` events (see datasetEventJson). */
export interface Dataset {
  size: number;
  dataDir: string;
  /** Events per second the load reached (through HTTP, batches of 1000). */
  loadRate: number;
}

export class Datasets {
  readonly #built = new Map<number, Promise<Dataset>>();
  constructor(private readonly workDir: string) {}

  /** The dataset of `size` events, built on first use and reused by later scenarios. */
  get(size: number): Promise<Dataset> {
    let dataset = this.#built.get(size);
    if (!dataset) {
      dataset = build(join(this.workDir, `dataset-${size}`), size);
      this.#built.set(size, dataset);
    }
    return dataset;
  }
}

async function build(dataDir: string, size: number): Promise<Dataset> {
  await mkdir(dataDir, { recursive: true });
  progress(`loading ${size.toLocaleString('en-US')} events into a new database (HTTP, batches of ${LOAD_BATCH})`);
  const server = await startFactum(dataDir);
  try {
    await postJson(`${server.url}/databases`, JSON.stringify({ name: DATABASE }));
    const started = performance.now();
    let next = 0;
    let reported = 0;
    const worker = async () => {
      while (next < size) {
        const from = next;
        const to = Math.min(size, from + LOAD_BATCH);
        next = to;
        const events: string[] = [];
        for (let i = from; i < to; i++) events.push(datasetEventJson(i, size));
        await postJson(`${server.url}/databases/${DATABASE}/events`, batchBody(events));
        if (to - reported >= size / 5 && to < size) {
          reported = to;
          progress(`  ${Math.round((100 * to) / size)} %`);
        }
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    const count = (JSON.parse((await request(`${server.url}/databases/${DATABASE}`)).text) as { event_count: number }).event_count;
    if (count !== size) throw new Error(`dataset holds ${count} events, expected ${size}`);
    progress(`  loaded in ${seconds.toFixed(1)} s (${Math.round(size / seconds).toLocaleString('en-US')} events/s)`);
    return { size, dataDir, loadRate: size / seconds };
  } finally {
    // A clean stop writes the index snapshot a restart starts from.
    await server.stop();
  }
}

export interface BenchContext {
  options: BenchOptions;
  workDir: string;
  datasets: Datasets;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Takes each measurement `rounds` times, in turn (a, b, a, b, …), so that load from other work
 * on a shared machine falls on the figure and its baseline alike. Returns every result, by name.
 */
export async function inTurn<K extends string, R>(rounds: number, measurements: Record<K, () => Promise<R>>): Promise<Record<K, R[]>> {
  const names = Object.keys(measurements) as K[];
  const results = Object.fromEntries(names.map((name) => [name, [] as R[]])) as Record<K, R[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) results[name].push(await measurements[name]());
  }
  return results;
}

/**
 * The best of several results: what the code can do when the machine lets it. Noise from other
 * work only ever makes a run slower, so the best run is the steadiest estimate.
 */
export function best<R>(results: readonly R[], score: (result: R) => number): R {
  return results.reduce((a, b) => (score(b) > score(a) ? b : a));
}
