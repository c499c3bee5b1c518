// `freezeflow run-job`: run one job of a compare --plan list (Slurm arrays, Kubernetes Indexed Jobs, GNU parallel); safe to retry.
import type { Command } from 'commander';
import { wholeNumber } from '../args.js';

export function addRunJob(program: Command): void {
  program
    .command('run-job')
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
