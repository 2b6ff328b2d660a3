/**
 * `factum export`: every event of a database as NDJSON, one stored CloudEvent a line (with its
 * revision and recordedtime, exactly as the server stores it), paged through the API in constant
 * memory; and its components into a directory. It exports up to the head the database had when
 * it started, so the file is one consistent point in the database's history.
 */
import { Command, Option } from 'commander';
import { apiClient, databasePath, type ApiClient } from './api-client.ts';
import { exportComponents } from './components-dir.ts';
import { CommandError } from './failure.ts';
import { fileOutput, resumeFile, stdoutOutput, type Output } from './output.ts';
import { startProgress } from './progress.ts';
import { apiKeyOption, integerOption, urlOption } from './options.ts';

interface ExportFlags {
  url: string;
  apiKey?: string;
  database: string;
  after: string;
  output?: string;
  resume?: boolean;
  componentsDir?: string;
  components: boolean;
  pageSize: string;
  quiet?: boolean;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('write the events of a database as NDJSON (stdout or --output), and its state views and state changes into a directory')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .requiredOption('-d, --database <name>', 'the database to export')
    .option('--after <revision>', 'export only the events after this revision (to continue an export)', '0')
    .option('-o, --output <file>', 'write the events to this file instead of stdout')
    .option('--resume', 'continue an interrupted export into --output after its last whole line')
    .option('--components-dir <dir>', 'write the components here (default with --output: <file>.components)')
    .option('--no-components', 'do not export components')
    .addOption(new Option('--page-size <n>', 'events per request').default('1000'))
    .option('-q, --quiet', 'no progress on stderr')
    .action((flags: ExportFlags) => runExport(flags));
}

async function runExport(flags: ExportFlags): Promise<void> {
  const api = apiClient(flags.url, flags.apiKey);
  const pageSize = integerOption(flags.pageSize, '--page-size', 1, 10_000);
  if (flags.resume && !flags.output) throw new CommandError('--resume continues an export into a file: give --output', 2);
  if (flags.resume && flags.after !== '0') throw new CommandError('--resume finds where to continue itself: leave out --after', 2);
  const after = flags.resume ? await resumeFile(flags.output!) : integerOption(flags.after, '--after', 0);
  const { latest_revision: head } = await api.json<{ latest_revision: number }>('GET', databasePath(flags.database));
  if (after > head) throw new CommandError(`--after ${after} is beyond the latest revision of "${flags.database}", ${head}`, 2);

  const componentsDir = flags.components ? (flags.componentsDir ?? (flags.output ? `${flags.output}.components` : undefined)) : undefined;
  let componentNote = 'components not exported (--no-components)';
  if (flags.components && !componentsDir) {
    componentNote = 'components not exported';
    process.stderr.write('factum export: components not exported: the events go to stdout; give --components-dir DIR (or --output FILE) to export them too\n');
  }
  if (componentsDir) {
    const { versions } = await exportComponents(api, flags.database, componentsDir);
    componentNote = `${versions} component versions in ${componentsDir}`;
  }

  const output = flags.output ? await fileOutput(flags.output, flags.resume ? 'a' : 'w') : stdoutOutput();
  const progress = startProgress(`export ${flags.database}`, head - after, { quiet: flags.quiet });
  const written = await writeEvents(api, flags.database, { after, head, pageSize }, output, (n) => progress.advance(n));
  await output.close();
  const range = written === 0 ? 'no events' : `${written} events (revisions ${after + 1} to ${after + written})`;
  progress.finish(`factum export of "${flags.database}": ${range} to ${flags.output ?? 'stdout'}; ${componentNote}`);
}

/** Pages through the events after `after` up to `head`, writing one line per event; returns how many. */
async function writeEvents(api: ApiClient, database: string, range: { after: number; head: number; pageSize: number }, output: Output, done: (n: number) => void): Promise<number> {
  let last = range.after;
  while (last < range.head) {
    const limit = Math.min(range.pageSize, range.head - last);
    const page = await api.json<{ events: Array<{ revision: number }> }>('GET', `${databasePath(database)}/events?after=${last}&limit=${limit}`);
    if (page.events.length === 0) throw new CommandError(`"${database}" answered no events after revision ${last}, though its latest revision was ${range.head}: was it deleted or re-created?`);
    let text = '';
    for (const event of page.events) {
      if (event.revision !== last + 1) throw new CommandError(`"${database}" answered revision ${event.revision} after ${last}: revisions are not dense`);
      // The stored JSON as the server sent it: parsing and serialising again gives the same text.
      text += `${JSON.stringify(event)}\n`;
      last = event.revision;
    }
    await output.write(text);
    done(page.events.length);
  }
  return last - range.after;
}
