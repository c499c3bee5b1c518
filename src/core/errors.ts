// Errors the CLI turns into one line and an exit code, never a stack trace.
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** An expected failure with a message for the user. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    /** The schedule key the failure is about (data.source): the CLI prefixes its file:line:col. */
    readonly key?: readonly (string | number)[],
  ) {
    super(message);
    this.name = 'UserError';
  }
}
