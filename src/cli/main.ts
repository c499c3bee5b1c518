// Command-line entry: commander parses, each command does its work, errors become one line + exit code.
import { count } from '../core/format.js';
import { Argument, Command, CommanderError, Option } from 'commander';
import { ScheduleError, formatIssue, type ScheduleIssue } from '../schedule/issues.js';
import { readScheduleFile, resolveLoaded } from '../schedule/load.js';
import { buildPlan } from '../schedule/plan.js';
import { errStyle, style } from './style.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { formatPlan, planJson } from './plan-view.js';
import { backendOption, nonNegative, numberList, setOption, threadsOption, wholeNumber } from './args.js';
import { addExamples, completionScript } from './help.js';
import { runInit, STRATEGIES, type InitOptions } from './init.js';
import * as importArgs from './import-args.js';
import { packageVersion } from '../core/paths.js';
import { BackendUnavailableError } from '../backend/errors.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

async function cmdValidate(files: string[], opts: { json?: boolean; model?: string | boolean }): Promise<number> {
  let failed = 0;
  for (const file of files) {
    try {
      const loaded = readScheduleFile(file);
      const plan = buildPlan(loaded.schedule, loaded.name);
      // with --model: every pattern checked against the real layers (the schedule's model by default)
      if (opts.model !== undefined) {
        const { describeFineTuneLayers } = await import('../train/describe.js');
        const source = typeof opts.model === 'string' ? opts.model : undefined;
        const { located } = await import('../train/located.js');
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
    const { describeFineTuneLayers } = await import('../train/describe.js');
    const { located } = await import('../train/located.js');
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

export function buildProgram(): Command {
  // set before any subcommand exists: commander copies these settings into subcommands as they are made
  const program = new Command('freezeflow')
    .description('Fine-tune pretrained TensorFlow.js models with freeze/unfreeze schedules written in YAML.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(errStyle.red(usageLine(s))) });

  program
    .command('validate')
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

  program
    .command('plan')
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

  program
    .command('init')
    .description('write a commented schedule for a strategy, or recommend one from the data-set size')
    .addOption(new Option('--strategy <name>', 'fine-tuning strategy').choices(STRATEGIES))
    .option('--auto', 'stages: auto — the run chooses the stages from the data (the same as --strategy auto)')
    .option(
      '--samples <n>',
      'number of training samples (recommends a strategy when --strategy is absent)',
      wholeNumber(1),
    )
    .option('-m, --model <model>', "your model (model.json, .onnx, URL): real block names, the model's pixels")
    .option(
      '-d, --data <folder>',
      'your image folder (one sub-folder per class): counts the images, picks the strategy',
    )
    .option('-o, --out <file>', 'where to write the schedule (default: <strategy>.yaml; - for stdout)')
    .option('-f, --force', 'overwrite an existing file')
    .action(async (opts: InitOptions) => {
      process.exitCode = await runInit(opts, out, (s) => process.stderr.write(`${s}\n`));
    });

  program
    .command('inspect')
    .description('list the layers of a model: paths, classes, shapes, parameters, trainable flags')
    .argument('<model>', 'model.json path, http(s) URL, or builtin:<name>')
    .option('--json', 'print JSON')
    .option('-s, --schedule <file>', 'add a column per stage: which layers are trainable there')
    .option('-g, --grep <pattern>', 'show only the layers a pattern matches')
    .option(
      '--depth <n>',
      'show N levels (nested models, modules, blocks); deeper layers count in their totals',
      wholeNumber(1),
    )
    .option('--blocks', 'one line per block of the backbone, as lastBlocks and lrDecay use them')
    .action(
      async (
        model: string,
        opts: { json?: boolean; schedule?: string; grep?: string; depth?: number; blocks?: boolean },
      ) => {
        const { runInspect } = await import('./inspect.js');
        process.exitCode = await runInspect(model, opts, out);
      },
    );

  program
    .command('train')
    .description('run a schedule: freeze/unfreeze stage by stage, train, checkpoint, report')
    .option('-s, --schedule <file>', 'schedule YAML file (required unless --resume)')
    .option('-o, --out <dir>', 'run directory (default runs/<schedule>-<timestamp>)')
    .addOption(backendOption("compute backend (default: the schedule's, else auto)"))
    .addOption(threadsOption())
    .option('--json', 'stream NDJSON events on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--resume <dir>', 'continue an interrupted run from its last checkpoint')
    .option('--strict', 'fail on unreadable or non-image files in an image folder instead of skipping them')
    .option('--samples <n>', 'override data.samples (training-set size)', wholeNumber(1))
    .option('--seed <n>', 'override data.seed', wholeNumber(0, 2147483647))
    .addOption(setOption())
    .option('--print-config', 'print the fully resolved schedule (every default written out) as YAML and exit')
    .action(async (opts: import('./train.js').TrainOptions) => {
      const { runTrain } = await import('./train.js');
      process.exitCode = await runTrain(opts);
    });

  program
    .command('finetune')
    .description(
      'one command for your model and pictures: the head on cached features, then the last blocks, then all, each lr from a range test',
    )
    .requiredOption('-m, --model <model>', 'the pretrained model (model.json, .onnx, URL)')
    .requiredOption('-d, --data <folder>', 'the image folder (one sub-folder per class)')
    .option(
      '-e, --epochs <n>',
      "total epochs, shared out as the strategy's stages are (default: the template's)",
      wholeNumber(1),
    )
    .addOption(
      new Option('--strategy <name>', 'progressive, full-freeze or full-unfreeze (default: by image count)').choices(
        STRATEGIES,
      ),
    )
    .option('--samples <n>', 'use this many training images (default: all)', wholeNumber(1))
    .option('-o, --out <dir>', 'run directory (default runs/<strategy>-<model>-<timestamp>)')
    .addOption(backendOption('compute backend (default auto)'))
    .option('--json', 'stream NDJSON events on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (opts: import('./finetune.js').FinetuneOptions) => {
      const { runFinetune } = await import('./finetune.js');
      process.exitCode = await runFinetune(opts, (s) => process.stderr.write(`${s}\n`));
    });

  program
    .command('compare')
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
    .action(async (opts: import('./compare.js').CompareOptions) => {
      const { runCompare } = await import('./compare.js');
      process.exitCode = await runCompare(opts);
    });

  program
    .command('run-job')
    .description(
      'run one job of a compare --plan list (Slurm arrays, Kubernetes Indexed Jobs, GNU parallel); safe to retry',
    )
    .requiredOption('--plan <file>', 'the job list (compare --plan)')
    .option('--index <n>', 'which job (default: SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX)', wholeNumber(0))
    .action(async (opts: { plan: string; index?: number }) => {
      const { runJob } = await import('./jobs.js');
      process.exitCode = await runJob(opts);
    });

  program
    .command('lr-find')
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
    .action(async (opts: import('./lr-find.js').LrFindOptions) => {
      const { runLrFind } = await import('./lr-find.js');
      process.exitCode = await runLrFind(opts);
    });

  program
    .command('report')
    .description("(re)write RUN_DIR/report.html from the run's events; --png renders the charts to an image")
    .argument('<run-dir>', 'a run directory')
    .option('--png <file>', 'also write the charts as a PNG')
    .action(async (runDir: string, opts: { png?: string }) => {
      const { readRunEvents, writeChartsPng, writeReport } = await import('../report/write.js');
      const events = readRunEvents(runDir);
      process.stdout.write(`${writeReport(runDir, events)}\n`);
      if (opts.png) {
        await writeChartsPng(events, opts.png);
        process.stdout.write(`${opts.png}\n`);
      }
    });

  program
    .command('doctor')
    .description('which backends this machine has, whether a GPU is really used, and what auto picks')
    .option('--json', 'one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { runDoctor } = await import('./doctor.js');
      process.exitCode = await runDoctor(opts);
    });

  program
    .command('import')
    .description('convert an ONNX file exported from PyTorch into a tfjs layers model freezeflow can fine-tune')
    .argument('<model.onnx>', 'the ONNX file (torch.onnx.export)')
    .option('-o, --out <dir>', 'output folder (default: the file name without .onnx, here)')
    .option(
      '--preprocess <p>',
      "the pixels the model was trained on: imagenet (default), unit, symmetric or '{mean: [..], std: [..]}'",
      (v: string) => importArgs.preprocessArg(v),
    )
    .option('--input-size <H,W>', 'the image size, for an export with a dynamic spatial size', (v: string) =>
      importArgs.inputSizeArg(v),
    )
    .option('--json', 'one JSON object on stdout')
    .action(async (file: string, opts: import('./import.js').ImportCliOptions) => {
      const { runImport } = await import('./import.js');
      process.exitCode = await runImport(file, opts, out);
    });

  program
    .command('merge')
    .description("rebuild a run's trained model from the pretrained model and the run's adapters/ (LoRA merged in)")
    .argument(
      '<base>',
      'the model the run started from (its model.source: a model folder, model.json, .onnx or builtin:NAME)',
    )
    .argument('<adapters>', 'a run directory of a run with adapters, or its adapters/ folder')
    .requiredOption('-o, --out <dir>', 'a new folder for the merged model')
    .option('--json', 'one JSON object on stdout')
    .action(async (base: string, adapters: string, opts: import('./merge.js').MergeCliOptions) => {
      const { runMerge } = await import('./merge.js');
      process.exitCode = await runMerge(base, adapters, opts, out);
    });

  program
    .command('export')
    .description('write a trained model for deployment (tfjs, ONNX, Teachable Machine) and measure what it costs')
    .argument('<source>', 'run directory (its model/, adapters merged) or model directory, model.json, model.onnx')
    .addOption(new Option('-f, --format <name>', 'what to write').choices(['tfjs', 'onnx', 'tm']).default('tfjs'))
    .addOption(
      new Option('-q, --quantize <dtype>', 'store kernels as float16 or uint8 (tfjs, tm)').choices([
        'float16',
        'uint8',
      ]),
    )
    .option('-o, --out <dir>', 'output folder (default: RUN_DIR/exports/<format>[-<dtype>], or <model>-<format> here)')
    .option('--checkpoint <name>', 'with a run directory: export checkpoints/<name> (best, last, …) instead of model/')
    .option('--max-drop <points>', 'fail (exit 1, nothing written) if accuracy drops by more than this', nonNegative)
    .option('--nchw', 'ONNX: take NCHW input (a transpose in front), as PyTorch-style callers pass images')
    .option('-d, --data <folder>', "measure on these labelled images (default: the run's validation images)")
    .option('--force', 'replace an existing --out folder that is not an earlier export')
    .option('--json', 'one JSON object on stdout (what export.json holds)')
    .addOption(backendOption('compute backend for the measurement', 'auto'))
    .action(async (source: string, opts: import('./export.js').ExportCliOptions) => {
      const { runExportCli } = await import('./export.js');
      process.exitCode = await runExportCli(source, opts);
    });

  program
    .command('predict')
    .description('classify image files with a trained model (top-k labels with probabilities)')
    .argument('<images...>', 'image files')
    .requiredOption(
      '-m, --model <path>',
      'run directory (its final model/), model directory, model.json, model.onnx, http(s) URL or builtin:NAME',
    )
    .option('-k, --top <k>', 'how many labels to show per image', wholeNumber(1), 3)
    .option('--json', 'one JSON object on stdout')
    .option('--raw', "print the model's raw output vector per image instead of labels")
    .addOption(backendOption('compute backend', 'auto'))
    .option('--checkpoint <name>', 'with a run directory: use checkpoints/<name> (best, last, …) instead of model/')
    .action(async (images: string[], opts: import('./predict.js').PredictOptions) => {
      const { runPredict } = await import('./predict.js');
      process.exitCode = await runPredict(images, opts);
    });

  program
    .command('evaluate')
    .description('accuracy, per-class precision/recall/F1 and confusion matrix on a folder of labelled images')
    .requiredOption(
      '-m, --model <path>',
      'run directory (its final model/), model directory, model.json, http(s) URL or builtin:NAME',
    )
    .requiredOption('-d, --data <folder>', 'folder with one sub-folder per class (or train/ and val/)')
    .option('--json', 'one JSON object on stdout')
    .addOption(backendOption('compute backend', 'auto'))
    .option('--checkpoint <name>', 'with a run directory: use checkpoints/<name> (best, last, …) instead of model/')
    .option('--all', "score every image of the folder, not only the run's own validation images")
    .option('--strict', 'fail on unreadable or non-image files instead of skipping them')
    .action(async (opts: import('./predict.js').EvaluateOptions) => {
      const { runEvaluate } = await import('./predict.js');
      process.exitCode = await runEvaluate(opts);
    });

  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      out(completionScript(program, shell));
    });

  addExamples(program);
  return program;
}

/** Runs the CLI; never throws: every failure becomes a one-line message and an exit code. */
/** commander's "error: unknown option '--x'" as freezeflow's one line, with where to look. */
function usageLine(s: string): string {
  return `freezeflow: ${s.trim().replace(/^error: /, '')} (see --help)\n`;
}

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

/** A schedule problem as one line: at its position, or (a missing file) under freezeflow's name. */
const issueLine = (i: ScheduleIssue): string => `${i.location ? '' : 'freezeflow: '}${formatIssue(i)}`;

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
