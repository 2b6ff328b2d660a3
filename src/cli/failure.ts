/** How every command ends on failure: one line `factum: <what went wrong>` on stderr, and an exit code. */

/** A failure the user can act on, told in the command's own words (no stack trace). */
export class CommandError extends Error {
  constructor(
    message: string,
    /** 1: the work failed or found problems; 2: the command could not run as asked. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`factum: ${message}\n`);
  process.exit(error instanceof CommandError ? error.exitCode : 1);
}
