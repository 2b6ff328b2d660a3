/**
 * The checks an import makes on each line before sending it, with the server's own rules (the
 * StoredEvent schema of openapi.yaml and the CloudEvents rules beyond it), so a broken file is
 * refused naming its line, before anything is written.
 */
import { assertEventSemantics, type CloudEvent, type StoredEvent } from '../core/events.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../core/json-depth.ts';
import { assertSchema } from '../schema/openapi.ts';
import { CommandError } from './failure.ts';
import type { Line } from './lines.ts';

export interface CheckedLine {
  line: Line;
  event: StoredEvent;
}

/** The event of `line`, which must follow `previous` densely. */
export function checkLine(line: Line, previous: CheckedLine | undefined): CheckedLine {
  const at = `line ${line.number}`;
  if (line.text.trim() === '') throw new CommandError(`${at} is empty; an export holds one event per line`);
  let event: StoredEvent;
  try {
    event = JSON.parse(line.text) as StoredEvent;
  } catch (error) {
    throw new CommandError(
      line.terminated
        ? `${at} is not valid JSON (${(error as Error).message})`
        : `${at} is cut short (the file ends in the middle of it): the export did not finish; continue it with factum export --output FILE --resume`,
    );
  }
  if (nestsDeeperThan(event, MAX_JSON_DEPTH)) throw new CommandError(`${at} nests arrays and objects deeper than a server takes (${MAX_JSON_DEPTH} levels)`);
  try {
    assertSchema<StoredEvent>('StoredEvent', event);
    assertEventSemantics([withoutAssigned(event)]);
  } catch (error) {
    throw new CommandError(`${at}: ${(error as Error).message.replace(/^events\[0\]\.?/, '')}`);
  }
  if (previous && event.revision !== previous.event.revision + 1) {
    throw new CommandError(
      event.revision > previous.event.revision + 1
        ? `${at} has revision ${event.revision}, after revision ${previous.event.revision} on line ${previous.line.number}: ${missingRevisions(previous.event.revision + 1, event.revision - 1)}`
        : `${at} has revision ${event.revision}, after revision ${previous.event.revision} on line ${previous.line.number}: revisions must ascend one by one`,
    );
  }
  return { line, event };
}

/** The CloudEvent without the attributes the database assigns. */
export function withoutAssigned(event: StoredEvent): CloudEvent {
  const { revision: _revision, recordedtime: _recordedtime, ...cloudEvent } = event;
  return cloudEvent;
}

/** Says which revisions a gap lacks. */
export function missingRevisions(from: number, to: number): string {
  return from === to ? `revision ${from} is missing` : `revisions ${from} to ${to} are missing`;
}
