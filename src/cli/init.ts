// `freezeflow init`: the shipped example schedules are the templates, so they cannot drift apart.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { EXIT_OK, EXIT_USAGE, UserError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';

export const STRATEGIES = [
  'progressive',
  'full-freeze',
  'full-unfreeze',
  'selective',
  'discriminative',
  'auto',
] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The recipe table: < 1k samples full freeze, 1k–10k progressive, > 10k full unfreeze. */
export function recommend(samples: number): { strategy: Strategy; why: string } {
  if (samples < 1000) {
    return {
      strategy: 'full-freeze',
      why: `${samples} samples is small (< 1k): train only the new head so the pretrained features are not overfitted away`,
    };
  }
  if (samples <= 10000) {
    return {
      strategy: 'progressive',
      why: `${samples} samples is medium (1k–10k): train the head first, then unfreeze the last blocks, then everything, each at a smaller lr`,
    };
  }
  return {
    strategy: 'full-unfreeze',
    why: `${samples} samples is large (> 10k): there is enough data to adapt every layer`,
  };
}

export function templateText(strategy: Strategy, samples?: number): string {
  const text = readFileSync(`${packageRoot()}/schedules/${strategy}.yaml`, 'utf8').replace(
    '$schema=../schemas/schedule.schema.json',
    `$schema=${packageRoot()}/schemas/schedule.schema.json`,
  );
  if (samples === undefined) return text;
  const doc = parseDocument(text);
  doc.setIn(['data', 'samples'], samples);
  return doc.toString();
}

export interface InitOptions {
  strategy?: Strategy;
  /** --auto: the same as --strategy auto. */
  auto?: boolean;
  samples?: number;
  model?: string;
  data?: string;
  out?: string;
  force?: boolean;
}

export async function runInit(
  given: InitOptions,
  out: (s: string) => void,
  info: (s: string) => void,
): Promise<number> {
  if (given.auto && given.strategy && given.strategy !== 'auto')
    throw new UserError(`--auto and --strategy ${given.strategy} contradict each other: give one`, EXIT_USAGE);
  const opts = given.auto ? { ...given, strategy: 'auto' as const } : given;
  if (opts.model !== undefined || opts.data !== undefined) return initForModel(opts, out, info);
  let strategy = opts.strategy;
  if (!strategy) {
    if (opts.samples === undefined)
      throw new UserError('give --strategy <name> or --samples <n> (to get a recommendation)', EXIT_USAGE);
    const rec = recommend(opts.samples);
    strategy = rec.strategy;
    info(`recommended: ${rec.strategy} — ${rec.why}`);
  }
  return writeSchedule(templateText(strategy, opts.samples), opts.out ?? `${strategy}.yaml`, opts.force, out, info);
}

function writeSchedule(
  text: string,
  target: string,
  force: boolean | undefined,
  out: (s: string) => void,
  info: (s: string) => void,
): number {
  if (target === '-') {
    out(text.trimEnd());
    return EXIT_OK;
  }
  if (existsSync(target) && !force)
    throw new UserError(
      `${target} already exists; use --force to overwrite or --out to choose another file`,
      EXIT_USAGE,
    );
  writeFileSync(target, text);
  info(`wrote ${target} — check it with: freezeflow plan --schedule ${target} --model`);
  return EXIT_OK;
}

/** A template without its remarks on the builtin model (what it is, where it is cut). */
export const forYourModel = (s: Strategy): string =>
  templateText(s)
    .replace(/^# Here:.*\n/m, '')
    .replace(/^\s*# cutAt defaults.*\n/m, '');

/** --model and --data: a schedule for that model and folder (src/train/init-model.ts). */
async function initForModel(opts: InitOptions, out: (s: string) => void, info: (s: string) => void): Promise<number> {
  if (opts.model === undefined || opts.data === undefined)
    throw new UserError('--model and --data go together: init --model M --data FOLDER', EXIT_USAGE);
  const target = opts.out ?? 'schedule.yaml';
  if (target !== '-' && existsSync(target) && !opts.force)
    throw new UserError(
      `${target} already exists; use --force to overwrite or --out to choose another file`,
      EXIT_USAGE,
    );
  const { scheduleForModel } = await import('../train/init-model.js');
  const { text, notes } = await scheduleForModel({
    model: opts.model,
    data: opts.data,
    target,
    // the builtin example's own story does not describe the user's model
    template: forYourModel,
    recommend,
    ...(opts.strategy ? { strategy: opts.strategy } : {}),
    ...(opts.samples !== undefined ? { samples: opts.samples } : {}),
  });
  for (const n of notes) info(n);
  return writeSchedule(text, target, true, out, info);
}
