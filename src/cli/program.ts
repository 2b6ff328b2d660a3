/**
 * The `factum` command: `serve` (the default: `factum` alone runs the server, as `npm start`
 * does), `export`, `import` and `verify`, each with --help.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { exportCommand } from './export.ts';
import { fail } from './failure.ts';
import { importCommand } from './import.ts';
import { serveCommand } from './serve.ts';
import { verifyCommand } from './verify.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function factumProgram(): Command {
  const serve = serveCommand();
  return (
    new Command('factum')
      .description('Factum event-sourcing database: the server, and backup, restore and checking of its data')
      .version(VERSION)
      .addCommand(serve, { isDefault: true })
      .addCommand(exportCommand())
      .addCommand(importCommand())
      .addCommand(verifyCommand())
      // `factum --help` is also the help of `factum` alone, which serves: show what it takes.
      .addHelpText('after', () => `\nWithout a command, factum serves: factum [serve] [options]\n${serve.helpInformation().slice(serve.helpInformation().indexOf('Options:'))}`)
  );
}

export async function runFactum(argv: readonly string[]): Promise<void> {
  try {
    await factumProgram().parseAsync(argv);
  } catch (error) {
    fail(error);
  }
}
