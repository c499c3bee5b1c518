// Command-line entry: the commands (one file each in commands/) on one program; errors become one line
// and an exit code.
import { Command, CommanderError } from 'commander';
import { ScheduleError } from '../core/issues.js';
import { errStyle } from './style.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { packageVersion } from '../core/paths.js';
import { BackendUnavailableError } from '../backend/errors.js';
import { COMMANDS } from './commands/index.js';
import { issueLine } from './output.js';

export function buildProgram(): Command {
  // set before any subcommand exists: commander copies these settings into subcommands as they are made
  const program = new Command('freezeflow')
    .description('Fine-tune pretrained TensorFlow.js models with freeze/unfreeze schedules written in YAML.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(errStyle.red(usageLine(s))) });

  for (const add of COMMANDS) add(program);

  return program;
}

/** commander's "error: unknown option '--x'" as freezeflow's one line, with where to look. */
function usageLine(s: string): string {
  return `freezeflow: ${s.trim().replace(/^error: /, '')} (see --help)\n`;
}

/** Runs the CLI; never throws: every failure becomes a one-line message and an exit code. */
export async function main(argv: string[]): Promise<void> {
  // `freezeflow inspect … | head`: the reader left; stop quietly instead of a stack trace
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version are "errors" to commander but successes to the user
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (err instanceof ScheduleError) {
    for (const i of err.issues) process.stderr.write(`${issueLine(i)}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof BackendUnavailableError) {
    process.stderr.write(`freezeflow: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof UserError) {
    process.stderr.write(`freezeflow: ${err.message}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`freezeflow: ${msg.split('\n')[0]}\n`);
  if (process.env['FREEZEFLOW_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return EXIT_FAILURE;
}
