// `freezeflow lr-find`: lr-find.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { backendOption, setOption, threadsOption } from '../args.js';

export function addLrFind(program: Command): void {
  program
    .command('lr-find')
    .addHelpText(
      'after',
      examples([
        'freezeflow lr-find -s schedules/progressive.yaml                # the first stage',
        'freezeflow lr-find -s schedules/progressive.yaml --stage all    # trains the stages before it first',
      ]),
    )
    .description(
      "an lr range test at a stage's start (the stages before it train first); prints the curve and the pick",
    )
    .requiredOption('-s, --schedule <file>', 'schedule YAML file (- for stdin)')
    .option('--stage <name>', 'the stage (default: the first with lr: find, else the first)')
    .option('-o, --out <dir>', 'sweep folder (default runs/<schedule>-lr-find-<timestamp>)')
    .addOption(backendOption("compute backend (default: the schedule's, else auto)"))
    .addOption(threadsOption())
    .addOption(setOption())
    .option('--apply', "write the pick into the stage's lr in the schedule file (comments kept)")
    .option('--json', 'one JSON object on stdout: the stage, the lr, the rule and the curve')
    .action(async (opts: import('../lr-find.js').LrFindOptions) => {
      const { runLrFind } = await import('../lr-find.js');
      process.exitCode = await runLrFind(opts);
    });
}
