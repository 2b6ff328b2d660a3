/**
 * `factum verify`: checks a file store's data directory offline and reports; exit code 0 when
 * nothing is wrong, 1 when something is, 2 when it could not check. It never changes a file.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { lockState, verifyDataDirectory, type VerifyReport } from '../storage/file/verify.ts';
import { CommandError } from './failure.ts';

interface VerifyFlags {
  dataDir: string;
  force?: boolean;
  json?: boolean;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description("check a file store's data directory offline: every frame's checksum, dense revisions, the index snapshot against the log, the components' bytes")
    .addOption(new Option('--data-dir <dir>', 'the data directory').env('FACTUM_DATA_DIR').default('./data'))
    .option('--force', 'check even while a server holds the directory (its latest writes may show as damage)')
    .option('--json', 'print the report as JSON')
    .action((flags: VerifyFlags) => runVerify(flags));
}

async function runVerify(flags: VerifyFlags): Promise<void> {
  const dataDir = resolve(flags.dataDir);
  const lock = await lockState(dataDir);
  if (lock.kind === 'held' && !flags.force) {
    throw new CommandError(`${dataDir} is in use by process ${lock.pid} (its LOCK): stop the server first, or check anyway with --force`, 2);
  }
  let report: VerifyReport;
  try {
    report = await verifyDataDirectory(dataDir);
  } catch (error) {
    throw new CommandError((error as Error).message, 2);
  }
  if (lock.kind === 'held') report.findings.unshift({ severity: 'note', message: `checked while process ${lock.pid} holds the directory: writes under way may show as damage` });
  if (lock.kind === 'stale') report.findings.unshift({ severity: 'note', message: `a LOCK of process ${lock.pid ?? '?'}, which no longer runs, is left (the next server start takes it over)` });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
  const problems = report.findings.filter((f) => f.severity === 'problem').length;
  if (problems > 0) throw new CommandError(`${dataDir}: ${problems} problem${problems === 1 ? '' : 's'} found`, 1);
}

function describe(report: VerifyReport): string {
  const out = [`factum verify: ${report.dataDir}`];
  for (const db of report.databases) {
    const snapshot = db.snapshotEvents === undefined ? 'no usable index snapshot' : `index snapshot covers ${db.snapshotEvents}`;
    out.push(`  ${db.name}: ${db.events} events in ${db.frames} transactions (${db.logBytes} bytes of log), ${snapshot}, ${db.components} component versions`);
  }
  for (const finding of report.findings) out.push(`  ${finding.severity === 'problem' ? 'PROBLEM' : 'note'}: ${finding.database ? `${finding.database}: ` : ''}${finding.message}`);
  const problems = report.findings.filter((f) => f.severity === 'problem').length;
  out.push(problems === 0 ? `clean: ${report.databases.length} databases, no problems` : `${problems} problem${problems === 1 ? '' : 's'} in ${report.databases.length} databases`);
  return `${out.join('\n')}\n`;
}
