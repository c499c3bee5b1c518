// `freezeflow run-job`: run one job of a compare --plan list (Slurm arrays, Kubernetes Indexed Jobs, GNU parallel); safe to retry.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { wholeNumber } from '../args.js';

export function addRunJob(program: Command): void {
  program
    .command('run-job')
    .addHelpText(
      'after',
      examples([
        'freezeflow compare --schedules a.yaml b.yaml --seeds 3 --out /shared/sweep --plan jobs.jsonl',
        'freezeflow run-job --plan jobs.jsonl --index 4',
        'parallel --joblog log --resume-failed freezeflow run-job --plan jobs.jsonl --index {} ::: $(seq 0 5)',
        'scripts/slurm-sweep.sh jobs.jsonl 4                                # a Slurm array, 4 at once',
      ]),
    )
    .description(
      'run one job of a compare --plan list (Slurm arrays, Kubernetes Indexed Jobs, GNU parallel); safe to retry',
    )
    .requiredOption('--plan <file>', 'the job list (compare --plan)')
    .option('--index <n>', 'which job (default: SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX)', wholeNumber(0))
    .action(async (opts: { plan: string; index?: number }) => {
      const { runJob } = await import('../jobs.js');
      process.exitCode = await runJob(opts);
    });
}
