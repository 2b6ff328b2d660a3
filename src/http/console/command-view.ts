/** What a command did, as the command forms show it. */
import type { Request } from 'express';
import type { ErrorCode } from '../../core/errors.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { processCommand, type ProcessResult } from '../../usecases/state-changes.ts';
import { COMMAND_LABELS, toProcessRequest, type CommandValues } from './component-forms.ts';
import { describeEvent, type EventView } from './event-view.ts';
import { formProblem } from './form-rules.ts';
import { shownInPlace } from './page-errors.ts';

export type CommandOutcome = { status: number } & (
  | {
      kind: 'stored' | 'dry-run' | 'replayed' | 'nothing';
      revision: number;
      events: EventView[];
    }
  | {
      kind: 'rejected';
      rejectionKind: string;
      code: string;
      message: string;
      details: ErrorDetailsView;
    }
  | { kind: 'failed'; code: ErrorCode; message: string; field: string | undefined }
);

/** Details of a rejection: a flat object as a list of fields, anything deeper as JSON. */
type ErrorDetailsView = { fields: Array<{ name: string; value: string }> } | { json: string } | null;

export async function sendCommand(ctx: FactumContext, database: string, name: string, values: CommandValues, req: Request): Promise<CommandOutcome> {
  let result: ProcessResult;
  try {
    result = await processCommand(ctx, database, name, toProcessRequest(values));
  } catch (error) {
    const failure = shownInPlace(error, req);
    const problem = formProblem(failure, COMMAND_LABELS);
    return { kind: 'failed', status: failure.status, code: failure.code, message: problem.error!, field: problem.errorField };
  }
  if (!result.success) {
    return { kind: 'rejected', status: result.status, rejectionKind: result.kind, code: result.error.code, message: result.error.message, details: detailsView(result.error.details) };
  }
  const kind = result.dry_run ? 'dry-run' : result.replayed ? 'replayed' : result.events.length === 0 ? 'nothing' : 'stored';
  return { kind, status: 200, revision: result.revision, events: result.events.map(describeEvent) };
}

function detailsView(details: Record<string, unknown>): ErrorDetailsView {
  const entries = Object.entries(details);
  if (entries.length === 0) return null;
  if (entries.every(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
    return { fields: entries.map(([name, value]) => ({ name, value: typeof value === 'string' ? value : JSON.stringify(value) })) };
  }
  return { json: JSON.stringify(details, null, 2) };
}
