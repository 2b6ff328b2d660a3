/**
 * Progress of a long export or import on stderr: on a terminal a bar with events/s and an ETA
 * (cli-progress), elsewhere (a log, CI) a plain line now and then, so stdout stays the data.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `n` more events done. */
  advance(n: number): void;
  /** Stops the display and prints `summary` as the last line. */
  finish(summary: string): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** Between plain lines when not on a terminal. */
  intervalMs?: number;
}

export function startProgress(label: string, total: number | undefined, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { advance: () => undefined, finish: () => undefined };
  const startedAt = Date.now();
  let done = 0;
  const rate = () => done / Math.max(0.001, (Date.now() - startedAt) / 1000);

  if (stream.isTTY) {
    const known = total !== undefined && total > 0;
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: known ? `${label} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}` : `${label} {value} events | {rate} events/s`,
        etaBuffer: 50,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(known ? total : 0, 0, { rate: '0' });
    return {
      advance: (n) => {
        done += n;
        bar.update(done, { rate: Math.round(rate()).toLocaleString('en-US') });
      },
      finish: (summary) => {
        bar.stop();
        stream.write(`${summary}\n`);
      },
    };
  }

  const line = () => {
    const parts = [`${label}: ${done.toLocaleString('en-US')}${total === undefined ? '' : ` of ${total.toLocaleString('en-US')}`} events`];
    if (total) parts.push(`${Math.floor((100 * done) / total)}%`);
    parts.push(`${Math.round(rate()).toLocaleString('en-US')} events/s`);
    if (total && done > 0) parts.push(`ETA ${Math.ceil((total - done) / rate())} s`);
    stream.write(`${parts.join(', ')}\n`);
  };
  const timer = setInterval(line, options.intervalMs ?? Number(process.env.FACTUM_PROGRESS_INTERVAL_MS ?? 5000));
  timer.unref();
  return {
    advance: (n) => {
      done += n;
    },
    finish: (summary) => {
      clearInterval(timer);
      stream.write(`${summary}\n`);
    },
  };
}
