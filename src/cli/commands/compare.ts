// `freezeflow compare`: run schedules on several training-set sizes and seeds, then tabulate the best strategy per size.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { backendOption, numberList, wholeNumber } from '../args.js';

export function addCompare(program: Command): void {
  program
    .command('compare')
    .addHelpText(
      'after',
      examples([
        'freezeflow compare --schedules schedules/compare/*.yaml --samples 200,1000 --seeds 2 --jobs 2',
        'freezeflow compare --schedules a.yaml b.yaml --dry-run > jobs.txt   # one command per run',
        'freezeflow compare --schedules a.yaml --seeds 4 --out /shared/sweep --plan /shared/jobs.jsonl --k8s job.yaml --image IMG',
        'freezeflow compare --collect --plan /shared/jobs.jsonl             # the table of what finished',
      ]),
    )
    .description('run schedules on several training-set sizes and seeds, then tabulate the best strategy per size')
    .option('--schedules <files...>', 'schedule files to compare', [])
    .option('--samples <list>', "training-set sizes, e.g. 200,1000,4000 (default: each schedule's own)", numberList)
    .option('--seeds <n>', 'seeds per cell (1, 2, …)', wholeNumber(1), 1)
    .option('-j, --jobs <n>', 'runs at once', wholeNumber(1), 1)
    .option('-o, --out <dir>', 'directory for the runs, compare.json and compare.html')
    .option('--dry-run', 'print one train command per run (for other job runners) and exit')
    .addOption(backendOption("backend for every run (default: each schedule's, else auto)"))
    .option('--plan <file>', 'write the runs as a job list (one JSON line each) for run-job, and exit')
    .option('--k8s <file>', 'with --plan: also write a Kubernetes Indexed Job (parallelism from --jobs)')
    .option('--image <image>', 'with --k8s: the container image (freezeflow on PATH)')
    .option('--claim <name>', 'with --k8s: the PersistentVolumeClaim holding the sweep (default freezeflow-sweep)')
    .option('--collect', "run nothing: tabulate the finished runs under --out (or those of --plan's list)")
    .option('--json', 'print the table as JSON')
    .action(async (opts: import('../compare.js').CompareOptions) => {
      const { runCompare } = await import('../compare.js');
      process.exitCode = await runCompare(opts);
    });
}
