// `freezeflow validate`: check schedule files; every problem is reported as file:line:col.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { count } from '../../core/format.js';
import { ScheduleError } from '../../core/issues.js';
import { readScheduleFile, resolveLoaded } from '../../schedule/load.js';
import { buildPlan } from '../../schedule/plan.js';
import { style } from '../style.js';
import { EXIT_OK, EXIT_USAGE } from '../../core/errors.js';
import { out } from '../output.js';
import { issueLine } from '../output.js';

async function cmdValidate(files: string[], opts: { json?: boolean; model?: string | boolean }): Promise<number> {
  let failed = 0;
  for (const file of files) {
    try {
      const loaded = readScheduleFile(file);
      const plan = buildPlan(loaded.schedule, loaded.name);
      // with --model: every pattern checked against the real layers (the schedule's model by default)
      if (opts.model !== undefined) {
        const { describeFineTuneLayers } = await import('../../train/describe.js');
        const source = typeof opts.model === 'string' ? opts.model : undefined;
        const { located } = await import('../../train/located.js');
        const layers = await located(loaded, () => describeFineTuneLayers(plan, loaded.file, source));
        resolveLoaded(loaded, plan, layers);
      }
      if (opts.json) out(JSON.stringify({ file, valid: true, stages: plan.stages.length, epochs: plan.totalEpochs }));
      else
        out(
          `${style.green('ok')} ${file}: ${plan.auto ? `stages: auto (a linear probe and up to ${count(plan.stages.length - 1, 'unfreezing stage')})` : count(plan.stages.length, 'stage')}, ${count(plan.totalEpochs, 'epoch')}`,
        );
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      failed++;
      if (opts.json) out(JSON.stringify({ file, valid: false, issues: err.issues }));
      else for (const i of err.issues) process.stderr.write(`${issueLine(i)}\n`);
    }
  }
  return failed > 0 ? EXIT_USAGE : EXIT_OK;
}

export function addValidate(program: Command): void {
  program
    .command('validate')
    .addHelpText(
      'after',
      examples(['freezeflow validate schedules/*.yaml', 'freezeflow validate --json my.yaml | jq .valid']),
    )
    .description('check schedule files; every problem is reported as file:line:col')
    .argument('<files...>', 'schedule YAML files')
    .option('--json', 'one JSON object per file on stdout')
    .option(
      '-m, --model [source]',
      "also check every pattern against the model's layers (default: the schedule's model)",
    )
    .action(async (files: string[], opts: { json?: boolean; model?: string | boolean }) => {
      process.exitCode = await cmdValidate(files, opts);
    });
}
