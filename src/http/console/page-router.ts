/** What every router of the console starts with: the database it is about, looked up once. */
import express, { Router } from 'express';
import { operations } from '../../schema/openapi.ts';
import type { FactumContext } from '../../usecases/context.ts';
import { requireDatabase } from '../../usecases/require-database.ts';
import { checkValues } from './form-rules.ts';

/** A database's record, as the use cases give it (http does not reach into storage). */
type DatabaseRecord = Awaited<ReturnType<typeof requireDatabase>>;

declare module 'express-serve-static-core' {
  interface Locals {
    /** The database of a console route's `:database`, looked up before the route runs. */
    db: DatabaseRecord;
  }
}

/**
 * A router whose routes with `:database` find its record in `res.locals.db`. A missing or
 * misnamed database is the page's error (an error page, or the alert region for htmx).
 */
export function pageRouter(ctx: FactumContext): Router {
  const router = Router();
  router.param('database', async (_req, res, next, name: string) => {
    res.locals.db = await requireDatabase(ctx, name);
    next();
  });
  return router;
}

/** The body of the console's small forms (create, delete): a few short fields. */
export const smallForm = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });

/** The body of a command form: a command and its parameters as JSON text. */
export const commandFormBody = express.urlencoded({ extended: false, limit: '1mb', parameterLimit: 10 });

/** The command forms' paths (a state change's page, and its process fragment). */
export const COMMAND_FORM_PATH = /^\/databases\/[^/]+\/console\/state-changes\/[^/]+(?:\/process)?\/?$/i;

/** The parser for a console form posted to `path`: each form's own bounds. */
export function formParserFor(path: string) {
  return COMMAND_FORM_PATH.test(path) ? commandFormBody : smallForm;
}

const eventParams = operations.get('getEvent')!.params!;

/** An event's revision from its page's path, by the API's rule for the same path. */
export function eventRevision(db: DatabaseRecord, text: string): number {
  const params: { database: string; revision: unknown } = { database: db.name, revision: text };
  checkValues(eventParams, params, { revision: 'revision' });
  return params.revision as number;
}
