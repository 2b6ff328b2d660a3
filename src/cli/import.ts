/**
 * `factum import`: loads an export (NDJSON of stored events, and its components directory) into
 * a database through the API's import routes.
 *
 * Where the events go:
 * - a restore (the usual case): into an empty database, or one that holds a beginning of the
 *   same history, each event keeps its revision and recorded time;
 * - with --append, into a database that holds other events: after them, renumbered in file
 *   order, recorded times kept.
 * Running it again after an interruption continues where the database stands: the events the
 * database already holds are compared with the file's (any difference stops the import), then
 * the rest is sent. A file (not a pipe) is checked whole before anything is written.
 */
import { createReadStream, fstatSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { ApiSchemas } from '../schema/api-types.ts';
import { isSameEvent, type CloudEvent, type StoredEvent } from '../core/events.ts';
import { ApiError, apiClient, databasePath, type ApiClient } from './api-client.ts';
import { importComponents } from './components-dir.ts';
import { CommandError } from './failure.ts';
import { checkLine, missingRevisions, withoutAssigned, type CheckedLine } from './import-checks.ts';
import { readLines, type Line } from './lines.ts';
import { apiKeyOption, integerOption, urlOption } from './options.ts';
import { startProgress, type Progress } from './progress.ts';

interface ImportFlags {
  url: string;
  apiKey?: string;
  database: string;
  input?: string;
  componentsDir?: string;
  components: boolean;
  append?: boolean;
  batchSize: string;
  quiet?: boolean;
}

/** A request carries at most this much NDJSON (well within the server's default 16 MiB), unless one transaction is larger. */
const BATCH_BYTES = 4 * 1024 * 1024;

export function importCommand(): Command {
  return new Command('import')
    .description('load an export (NDJSON from --input or stdin, and its components directory) into a database, creating it if needed')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .requiredOption('-d, --database <name>', 'the database to import into')
    .option('-i, --input <file>', 'read the events from this file instead of stdin')
    .option('--components-dir <dir>', 'import the components from here (default with --input: <file>.components, if it exists)')
    .option('--no-components', 'do not import components')
    .option('--append', 'allow adding the events after other events the database holds (renumbered; recorded times kept)')
    .addOption(new Option('--batch-size <n>', 'events per request (a transaction is never split between requests)').default('1000'))
    .option('-q, --quiet', 'no progress on stderr')
    .action((flags: ImportFlags) => runImport(flags));
}

interface Input {
  name: string;
  lines(): AsyncGenerator<Line>;
  /** A file can be read twice: checked whole first, then imported. */
  rereadable: boolean;
}

async function runImport(flags: ImportFlags): Promise<void> {
  const api = apiClient(flags.url, flags.apiKey);
  const batchSize = integerOption(flags.batchSize, '--batch-size', 1, 100_000);
  const input = await openInput(flags.input);
  const total = input.rereadable ? await checkWhole(input) : undefined;

  await ensureDatabase(api, flags.database);
  const componentNote = await importComponentsIfAny(api, flags);
  const progress = startProgress(`import ${flags.database}`, total, { quiet: flags.quiet });
  const result = await importLines(api, flags.database, input.lines(), { append: flags.append ?? false, batchSize, progress });
  const events =
    result.imported + result.alreadyThere === 0
      ? `no events in ${input.name}`
      : `${result.imported} events imported${result.imported === 0 ? '' : ` (revisions ${result.firstRevision} to ${result.lastRevision}${result.offset === 0 ? '' : `, renumbered by ${result.offset > 0 ? '+' : ''}${result.offset}`})`}, ${result.alreadyThere} were there already`;
  progress.finish(`factum import into "${flags.database}": ${events}; ${componentNote}`);
}

async function openInput(path: string | undefined): Promise<Input> {
  if (path !== undefined) {
    await access(path).catch((error: Error) => {
      throw new CommandError(`cannot read ${path}: ${error.message}`, 2);
    });
    return { name: path, rereadable: true, lines: () => readLines(createReadStream(path)) };
  }
  // Redirected from a file (`< shop.ndjson`), stdin can be read twice from its start; a pipe cannot.
  const isFile = fstatSync(0).isFile();
  return {
    name: 'stdin',
    rereadable: isFile,
    lines: () => readLines(isFile ? createReadStream('', { fd: 0, start: 0, autoClose: false }) : process.stdin),
  };
}

/** Checks every line before anything is written; returns the number of events. */
async function checkWhole(input: Input): Promise<number> {
  let previous: CheckedLine | undefined;
  let count = 0;
  for await (const line of input.lines()) {
    previous = checkLine(line, previous);
    count++;
  }
  return count;
}

async function ensureDatabase(api: ApiClient, database: string): Promise<void> {
  try {
    await api.json('GET', databasePath(database));
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'NOT_FOUND') throw error;
    await api.json('POST', '/databases', { name: database }).catch((again: unknown) => {
      if (!(again instanceof ApiError) || again.code !== 'ALREADY_EXISTS') throw again;
    });
  }
}

async function importComponentsIfAny(api: ApiClient, flags: ImportFlags): Promise<string> {
  if (!flags.components) return 'components not imported (--no-components)';
  let dir = flags.componentsDir;
  if (dir === undefined && flags.input !== undefined && (await stat(`${flags.input}.components`).catch(() => undefined))?.isDirectory()) dir = `${flags.input}.components`;
  if (dir === undefined) {
    const note = flags.input === undefined ? 'give --components-dir DIR to import them too' : `there is no ${flags.input}.components`;
    process.stderr.write(`factum import: components not imported: ${note}\n`);
    return 'components not imported';
  }
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new CommandError(`--components-dir ${dir} is not a directory`, 2);
  const { versions, alreadyThere } = await importComponents(api, flags.database, dir);
  return `${versions} component versions from ${dir} (${alreadyThere} were there already)`;
}

type ImportResponse = ApiSchemas['ImportResponse'];

interface LinesResult {
  imported: number;
  alreadyThere: number;
  offset: number;
  firstRevision?: number;
  lastRevision?: number;
}

/** Where the file's events go in the database, and up to which file revision it holds them already. */
interface Placement {
  offset: number;
  /** The last revision of the file the database holds (compared, then skipped). */
  through: number;
}

async function importLines(api: ApiClient, database: string, lines: AsyncGenerator<Line>, options: { append: boolean; batchSize: number; progress: Progress }): Promise<LinesResult> {
  const result: LinesResult = { imported: 0, alreadyThere: 0, offset: 0 };
  let previous: CheckedLine | undefined;
  let placement: Placement | undefined;
  let stored: StoredEventReader | undefined;
  let batch: CheckedLine[] = [];
  let batchBytes = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    const answer = await sendBatch(api, database, batch, placement!.offset);
    result.imported += answer.imported;
    result.alreadyThere += answer.already_stored;
    if (answer.imported > 0) {
      result.firstRevision ??= answer.revision - answer.imported + 1;
      result.lastRevision = answer.revision;
    }
    options.progress.advance(batch.length);
    batch = [];
    batchBytes = 0;
  };

  for await (const line of lines) {
    const checked = checkLine(line, previous);
    previous = checked;
    placement ??= await place(api, database, checked, options.append);
    result.offset = placement.offset;
    if (checked.event.revision <= placement.through) {
      stored ??= storedEventReader(api, database, checked.event.revision + placement.offset);
      await expectStored(await stored.next(), checked, database);
      result.alreadyThere++;
      options.progress.advance(1);
      continue;
    }
    // Requests end between transactions: a run sharing a recorded time goes whole.
    const full = batch.length >= options.batchSize || batchBytes >= BATCH_BYTES;
    if (full && batch.at(-1)!.event.recordedtime !== checked.event.recordedtime) await flush();
    batch.push(checked);
    batchBytes += checked.line.text.length + 1;
  }
  await flush();
  return result;
}

/**
 * Asks the server (a dry run of the file's first event) where the file goes: where its first
 * event already is, or else after the database's head. A restore puts every event at its own
 * revision (offset 0); anything else is an append, which must be asked for.
 */
async function place(api: ApiClient, database: string, first: CheckedLine, append: boolean): Promise<Placement> {
  const probe = await api.json<ImportResponse>('POST', `${databasePath(database)}/import?dry_run=true`, [first.event]);
  const start = first.event.revision;
  // A dry run answers the revision the import would leave: the head plus what it would write.
  const head = probe.revision - probe.imported;
  if (probe.offset !== 0 && !append) {
    if (probe.already_stored === 1) {
      throw new CommandError(`line ${first.line.number}'s event is at revision ${start + probe.offset} of "${database}": an earlier import appended this file there; run again with --append to continue it`);
    }
    throw new CommandError(
      head >= start
        ? `"${database}" already holds ${head} event${head === 1 ? '' : 's'}, and not this file's (line ${first.line.number}'s event is not among them): use --append to add the file's events after them, renumbered from ${head + 1}`
        : `the file starts at revision ${start}, but "${database}" ends at revision ${head}: ${missingRevisions(head + 1, start - 1)}; import the export that holds them first, or use --append to number the file's events from ${head + 1}`,
      1,
    );
  }
  return { offset: probe.offset, through: probe.already_stored === 1 ? head - probe.offset : start - 1 };
}

async function sendBatch(api: ApiClient, database: string, batch: CheckedLine[], offset: number): Promise<ImportResponse> {
  const body = `${batch.map((c) => c.line.text).join('\n')}\n`;
  try {
    const response = await api.send('POST', `${databasePath(database)}/import?offset=${offset}`, body, { 'content-type': 'application/x-ndjson' });
    return (await response.json()) as ImportResponse;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const index = typeof error.details.index === 'number' ? error.details.index : undefined;
    const where = index === undefined ? `lines ${batch[0]!.line.number} to ${batch.at(-1)!.line.number}` : `line ${batch[index]?.line.number ?? '?'}`;
    throw new CommandError(`${where}: ${error.message}${error.code === 'PAYLOAD_TOO_LARGE' ? ' (one transaction of the file is larger than the server takes: raise its --max-body-bytes)' : ''}`);
  }
}

interface StoredEventReader {
  next(): Promise<StoredEvent | undefined>;
}

/** The database's events from `from` on, a page at a time. */
function storedEventReader(api: ApiClient, database: string, from: number): StoredEventReader {
  let page: StoredEvent[] = [];
  let after = from - 1;
  let more = true;
  return {
    next: async () => {
      if (page.length === 0 && more) {
        const answer = await api.json<{ events: StoredEvent[]; has_more: boolean }>('GET', `${databasePath(database)}/events?after=${after}&limit=1000`);
        page = answer.events;
        more = answer.has_more;
        after = page.at(-1)?.revision ?? after;
      }
      return page.shift();
    },
  };
}

/** The database's event where a file's event should already be must be that event, recorded time included. */
async function expectStored(stored: StoredEvent | undefined, checked: CheckedLine, database: string): Promise<void> {
  const event: CloudEvent = withoutAssigned(checked.event);
  if (!stored || !isSameEvent(event, stored) || stored.recordedtime !== checked.event.recordedtime) {
    throw new CommandError(
      `line ${checked.line.number}: "${database}" holds ${stored ? `a different event at revision ${stored.revision}` : 'no event'} where this file's event should already be; it holds other events than the file: nothing more was imported`,
    );
  }
}
