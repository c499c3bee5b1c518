// `freezeflow plan`: show what each stage will do: epochs, optimizer, lr curve, freezing; with --model, the trainable layers.
import { examples } from '../help.js';
import type { Command } from 'commander';
import { readScheduleFile, resolveLoaded } from '../../schedule/load.js';
import { buildPlan } from '../../schedule/plan.js';
import { style } from '../style.js';
import { EXIT_OK } from '../../core/errors.js';
import { formatPlan, planJson } from '../plan-view.js';
import { setOption } from '../args.js';
import { out } from '../output.js';

async function cmdPlan(opts: {
  schedule: string;
  model?: string;
  json?: boolean;
  set?: string[];
  layers?: boolean;
}): Promise<number> {
  const loaded = readScheduleFile(opts.schedule, opts.set);
  const plan = buildPlan(loaded.schedule, loaded.name);
  let resolved;
  let view;
  if (opts.model !== undefined) {
    const { describeFineTuneLayers } = await import('../../train/describe.js');
    const { located } = await import('../../train/located.js');
    const source = opts.model === '' ? undefined : opts.model;
    const layers = await located(loaded, () => describeFineTuneLayers(plan, loaded.file, source));
    resolved = resolveLoaded(loaded, plan, layers);
    view = { resolved, layers, all: opts.layers ?? false };
  }
  out(
    opts.json
      ? JSON.stringify(planJson(plan, loaded.file, resolved), null, 2)
      : formatPlan(plan, loaded.file, style, view),
  );
  return EXIT_OK;
}

export function addPlan(program: Command): void {
  program
    .command('plan')
    .addHelpText(
      'after',
      examples([
        'freezeflow plan -s schedules/progressive.yaml',
        'freezeflow plan -s photos.yaml --model   # real layer names',
      ]),
    )
    .description(
      'show what each stage will do: epochs, optimizer, lr curve, freezing; with --model, the trainable layers',
    )
    .requiredOption('-s, --schedule <file>', 'schedule YAML file')
    .option('-m, --model [source]', "resolve patterns against the model's real layers (default: the schedule's model)")
    .option('--json', 'print the plan as JSON')
    .option('--layers', 'with --model: every trainable layer on its own line (default: a line per block)')
    .addOption(setOption())
    .action(
      async (opts: {
        schedule: string;
        model?: string | boolean;
        json?: boolean;
        set?: string[];
        layers?: boolean;
      }) => {
        process.exitCode = await cmdPlan({
          ...opts,
          model: opts.model === true ? '' : (opts.model as string | undefined),
        });
      },
    );
}
