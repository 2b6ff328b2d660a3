/**
 * `npm run bench`: Factum's benchmarks. Each figure is measured next to a baseline taken in the
 * same run on the same machine, and reported as a ratio to it, so runs on noisy, shared
 * machines stay comparable. Prints a table and writes it to bench/results/latest.json.
 *
 *   npm run bench                      every scenario, full sizes (5 to 10 minutes)
 *   npm run bench -- --quick           small databases and short runs (1 to 2 minutes)
 *   npm run bench -- --only 1,3        some scenarios
 *   npm run bench -- --large 500000 --small 50000 --duration 5 --rounds 3
 *   npm run bench -- --only 1 --cpu-prof   CPU profiles of the servers, in bench/results/profiles
 *
 * --duration is the seconds of each load run; every figure and its baseline are taken --rounds
 * times, in turn, and the best of each is reported. Environment variables BENCH_LARGE,
 * BENCH_SMALL, BENCH_DURATION and BENCH_ROUNDS stand in for the flags.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Datasets, progress, type BenchContext, type BenchOptions } from './lib/context.ts';
import { ROOT, serverNodeFlags } from './lib/processes.ts';
import { markdownTable, textTable, type Row } from './lib/report.ts';
import { batchedAppends } from './scenarios/1-batched-appends.ts';
import { singleAppends } from './scenarios/2-single-appends.ts';
import { selectiveQuery } from './scenarios/3-selective-query.ts';
import { stateViewRender } from './scenarios/4-state-view-render.ts';
import { wasmEvolve } from './scenarios/5-wasm-evolve.ts';
import { restart } from './scenarios/6-restart.ts';
import { dynamodbAppends } from './scenarios/7-dynamodb-appends.ts';
import { subscriptions } from './scenarios/8-subscriptions.ts';

const SCENARIOS: Record<number, { title: string; run: (ctx: BenchContext) => Promise<Row[]> }> = {
  1: { title: 'batched appends', run: batchedAppends },
  2: { title: 'single-event appends, 64 connections', run: singleAppends },
  3: { title: 'selective query, large vs small database', run: selectiveQuery },
  4: { title: 'state view render, incremental vs cold', run: stateViewRender },
  5: { title: 'WebAssembly evolve vs plain JavaScript', run: wasmEvolve },
  6: { title: 'restart time and memory', run: restart },
  7: { title: 'DynamoDB appends against bare transactions (DynamoDB Local)', run: dynamodbAppends },
  8: { title: 'subscriptions: delivery latency, catch-up throughput', run: subscriptions },
};

function parseOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      large: { type: 'string' },
      small: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick!;
  const number = (flag: string | undefined, env: string | undefined, fallback: number, name: string) => {
    const text = flag ?? env;
    if (text === undefined) return fallback;
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${text}"`);
    return n;
  };
  const only = new Set(
    (values.only ?? Object.keys(SCENARIOS).join(','))
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => {
        const n = Number(s.trim());
        if (!(n in SCENARIOS)) throw new Error(`no scenario "${s}": choose from ${Object.keys(SCENARIOS).join(', ')}`);
        return n;
      }),
  );
  const largeEvents = Math.round(number(values.large, process.env.BENCH_LARGE, quick ? 100_000 : 1_000_000, '--large'));
  const smallEvents = Math.round(number(values.small, process.env.BENCH_SMALL, largeEvents / 10, '--small'));
  if (smallEvents >= largeEvents) throw new Error('--small must be below --large');
  const durationS = number(values.duration, process.env.BENCH_DURATION, quick ? 2 : 5, '--duration');
  const rounds = Math.round(number(values.rounds, process.env.BENCH_ROUNDS, quick ? 2 : 3, '--rounds'));
  return { quick, only, largeEvents, smallEvents, durationS, warmupS: quick ? 1 : 2, rounds, cpuProf: values['cpu-prof']! };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const machine = {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  progress(`${machine.cpus} × ${machine.cpu_model}, Node ${machine.node}; scenarios ${[...options.only].join(',')}; databases of ${options.largeEvents.toLocaleString('en-US')} and ${options.smallEvents.toLocaleString('en-US')} events; ${options.rounds} rounds of ${options.durationS} s load runs`);
  if (options.cpuProf) {
    const dir = join(ROOT, 'bench', 'results', 'profiles');
    await mkdir(dir, { recursive: true });
    serverNodeFlags.push('--cpu-prof', '--cpu-prof-dir', dir);
    progress(`CPU profiles of the servers go to ${join('bench', 'results', 'profiles')}`);
  }
  const workDir = await mkdtemp(join(tmpdir(), 'factum-bench-'));
  const ctx: BenchContext = { options, workDir, datasets: new Datasets(workDir) };
  const rows: Row[] = [];
  const failed: Array<{ scenario: number; error: string }> = [];
  const started = performance.now();
  // Servers get the same SIGINT from the terminal and stop cleanly on their own.
  const stopOnSignal = () => void rm(workDir, { recursive: true, force: true }).finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  try {
    for (const n of [...options.only].sort((a, b) => a - b)) {
      const scenarioStarted = performance.now();
      progress(`scenario ${n}: ${SCENARIOS[n]!.title}`);
      try {
        rows.push(...(await SCENARIOS[n]!.run(ctx)));
        progress(`scenario ${n} done in ${((performance.now() - scenarioStarted) / 1000).toFixed(0)} s`);
      } catch (error) {
        // One broken scenario should not cost the figures of the others.
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        progress(`scenario ${n} FAILED: ${message}`);
        failed.push({ scenario: n, error: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;

  console.log(`\nFactum benchmarks: ${machine.cpus} × ${machine.cpu_model}, Node ${machine.node}, ${new Date().toISOString()}\n`);
  console.log(textTable(rows));
  const notes = rows.filter((r) => r.notes).map((r) => `  ${r.id}: ${r.notes}`);
  if (notes.length > 0) console.log(`\nNotes:\n${notes.join('\n')}`);
  for (const { scenario, error } of failed) console.log(`\nScenario ${scenario} failed: ${error}`);

  const resultsDir = join(ROOT, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const out = join(resultsDir, 'latest.json');
  await writeFile(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine,
        options: { ...options, only: [...options.only] },
        seconds: Math.round(seconds),
        rows,
        failed,
        markdown: markdownTable(rows),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\n${seconds.toFixed(0)} s; written to ${join('bench', 'results', 'latest.json')}`);
  if (failed.length > 0) process.exitCode = 1;
}

await main();
