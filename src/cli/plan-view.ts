// Text and JSON views of a plan (optionally resolved against a model's layers).
import { count, fmtCount, fmtLr } from '../core/format.js';
import type { ChalkInstance } from 'chalk';
import { describeHead } from '../core/heads/index.js';
import { epochLrs, groupLr, type LayerInfo, type Plan, type ResolvedStage, type StagePlan } from '../schedule/plan.js';
import { modelBlocks } from '../schedule/blocks.js';
import { commonParent } from '../core/blocks.js';
import { sparkline } from '../schedule/lr.js';
import { describeScheduler } from '../schedule/schedulers/index.js';
import { optimizerKind } from '../schedule/optimizers/index.js';
import { reporterKind } from '../schedule/reporters/index.js';

const DEFAULT_SKETCH_STEPS = 100;

/** What `plan --model` knows beyond the plan: the model's layers (for blocks) and whether to list them all. */
export interface PlanModelView {
  resolved: ResolvedStage[];
  layers: readonly LayerInfo[];
  /** Every trainable layer on its own line, instead of a line per block. */
  all?: boolean;
}

const lrSpan = (lrs: number[]) => {
  const lo = Math.min(...lrs);
  const hi = Math.max(...lrs);
  return lo === hi ? fmtLr(lo) : `${fmtLr(lo)}–${fmtLr(hi)}`;
};

/**
 * A stage's trainable layers a line per block ('● layer3  6/6 layers, 48.2k params, lr 1e-4'; ◐ when only
 * some of its layers train), then the frozen blocks on one line: a 150-layer model stays one screen.
 */
function blockLines(r: ResolvedStage, layers: readonly LayerInfo[], c: ChalkInstance): string[] {
  const info = new Map(layers.map((l) => [l.path, l]));
  const out: string[] = [];
  const frozen: string[] = [];
  const blocks = modelBlocks(layers);
  // a nested model's blocks share their parents' path (sequential_1/model1/): named without it
  const parent = commonParent(blocks.filter((b) => b.name !== 'head').map((b) => b.name));
  const weighted = (p: string) => (info.get(p)?.trainableParams ?? 0) + (info.get(p)?.nonTrainableParams ?? 0) > 0;
  for (const b of blocks) {
    const name = b.name.slice(b.name.startsWith(parent) ? parent.length : 0);
    // counted over layers with weights: a ReLU neither trains nor stays frozen
    const own = b.layers.filter(weighted);
    const on = own.filter((p) => r.trainable.has(p));
    if (on.length === 0) {
      frozen.push(name);
      continue;
    }
    const params = on.reduce((n, p) => n + (info.get(p)?.trainableParams ?? 0), 0);
    const mark = on.length === own.length ? c.green('●') : c.yellow('◐');
    const lrs = on.map((p) => r.layerLr.get(p) ?? r.stage.lr);
    out.push(
      `    ${mark} ${name}  ${on.length}/${count(own.length, 'layer')}, ${fmtCount(params)} params, lr ${lrSpan(lrs)}`,
    );
  }
  if (frozen.length > 0) {
    const names = frozen.length > 6 ? `${frozen.slice(0, 3).join(', ')} … ${frozen.at(-1)}` : frozen.join(', ');
    out.push(c.dim(`    · frozen: ${count(frozen.length, 'block')} (${names})`));
  }
  return out;
}

/** The plan's header: model, data, training, guard, auto, output, epochs. */
function planHeader(plan: Plan, file: string, c: ChalkInstance, view?: PlanModelView): string[] {
  const d = plan.data;
  const ck = plan.output.checkpoints;
  return [
    `${c.bold('Plan')} ${plan.name}  (${file})`,
    `  model     ${plan.model.source}  cut: ${plan.model.cutAt ?? 'drop the last layer'}  head: ${describeHead(plan.model.head)}`,
    `  data      ${d.source}${d.samples ? `  samples ${d.samples}` : ''}  batch ${d.batchSize}  ${d.validationFolder ? `validation ${d.validationFolder}` : `validation split ${d.validationSplit}`}  seed ${d.seed}`,
    `  training  ${plan.training.loss}  BatchNorm ${plan.training.batchNorm === 'frozen' ? 'frozen → inference mode' : 'always trained'}  backend ${plan.training.backend}`,
    ...(plan.guard
      ? [
          `  guard     ${plan.guard.action} when val loss rises ${count(plan.guard.patience, 'epoch')} after an unfreeze`,
        ]
      : []),
    ...(plan.auto
      ? [
          `  auto      a linear probe, then ${count(plan.stages.length - 1, 'unfreezing stage')} of one block each, in the order a gradient probe ranks the blocks once the head is trained (shown top-down${view ? '' : '; --model fits them to the blocks'}); lrs from range tests${plan.auto.lrDecay < 1 ? `, each block below the head ×${plan.auto.lrDecay}` : ''}; the run writes what it chose to chosen-schedule.yaml`,
        ]
      : []),
    `  output    checkpoints: last${ck.everyStage ? ', every stage' : ''}${ck.everyEpochs ? `, every ${count(ck.everyEpochs, 'epoch')}` : ''}${ck.best ? `, best by ${ck.best.monitor}${ck.best.keep > 1 ? ` (top ${ck.best.keep} kept)` : ''}` : ''}; files: ${plan.output.metrics.map((m) => reporterKind(m.type).describe(m)).join(', ')}${plan.training.telemetry ? '; per-layer telemetry' : ''}`,
    `  epochs    ${plan.totalEpochs} in ${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'}${plan.stages.some((s) => s.advance) ? ' at most (stages with advance end early and the rest move up)' : ''}`,
  ];
}

/** What a stage sets: optimizer, lr and its curve, weight decay, freezing, lr groups and decay, adapters, advance. */
function stageSettings(plan: Plan, s: StagePlan, i: number): string[] {
  const out: string[] = [];
  const lrs = epochLrs(s, plan.stepsPerEpoch ?? DEFAULT_SKETCH_STEPS);
  out.push(`  optimizer     ${optimizerKind(s.optimizer.type).describe(s.optimizer)}`);
  if (s.accumulate > 1)
    out.push(
      `  batch         ${plan.data.batchSize} × ${s.accumulate} accumulated = ${plan.data.batchSize * s.accumulate} samples per optimizer step`,
    );
  out.push(
    s.lrFind
      ? `  lr            found at the stage's start: range test ${fmtLr(s.lrFind.min)} → ${fmtLr(s.lrFind.max)}, ${s.lrFind.steps} steps, ${s.lrFind.rule} (shown below with ${fmtLr(s.lr)})  ${describeScheduler(s.scheduler, s.lr)}`
      : `  lr            ${fmtLr(s.lr)}  ${describeScheduler(s.scheduler, s.lr)}`,
  );
  out.push(`  lr per epoch  ${sparkline(lrs, 40)}  ${fmtLr(lrs[0]!)} → ${fmtLr(lrs[lrs.length - 1]!)}`);
  out.push(
    `  weight decay  ${s.weightDecay === 0 ? '0' : `${fmtLr(s.weightDecay)} (${s.weightDecayMode === 'decoupled' ? 'decoupled' : 'L2'})`}`,
  );
  if (s.freeze.length > 0) out.push(`  freeze        ${s.freeze.join(', ')}`);
  if (s.unfreeze.length > 0) out.push(`  unfreeze      ${s.unfreeze.join(', ')}`);
  if (s.unfreezeLastBlocks !== undefined)
    out.push(`  unfreeze      the backbone's last ${count(s.unfreezeLastBlocks, 'block')}`);
  if (s.freeze.length === 0 && s.unfreeze.length === 0 && s.unfreezeLastBlocks === undefined)
    out.push(`  freeze        ${i === 0 ? '(default: pretrained body frozen, head trainable)' : '(unchanged)'}`);
  for (const g of s.lrGroups) out.push(`  lr group      ${g.patterns.join(', ')} → ${fmtLr(g.lr)}`);
  if (s.lrDecay?.blocks) {
    const n = s.lrDecay.blocks.length;
    out.push(
      `  lr decay      ${s.lrDecay.blocks.map((b, k) => `${b} ${fmtLr(groupLr(s, `lrDecay.blocks[${k}]`, s.lr, n))}`).join(', ')}`,
    );
  } else if (s.lrDecay)
    out.push(
      `  lr decay      × ${s.lrDecay.factor} per block, from the head down through the model's blocks (plan --model lists them)`,
    );
  for (const a of s.adapters)
    out.push(
      `  adapter       LoRA rank ${a.rank}, alpha ${a.alpha}${a.dropout ? `, dropout ${a.dropout}` : ''} on ${a.patterns.join(', ')}`,
    );
  const picks = Object.entries(s.train).map(([k, v]) => `${k} ${v ? 'on' : 'off'}`);
  if (picks.length > 0) out.push(`  train         ${picks.join(', ')} (variables in frozen layers)`);
  if (s.advance)
    out.push(
      `  advance       after ${count(s.advance.patience, 'epoch')} without ${s.advance.monitor} improvement${s.advance.minDelta ? ` (by more than ${s.advance.minDelta})` : ''}: epochs ${s.firstEpoch}–${s.lastEpoch} are a budget, later stages move up`,
    );
  return out;
}

/** With --model: what trains in the stage, a line per block (or per layer with --layers). */
function stageTrainable(s: StagePlan, r: ResolvedStage, view: PlanModelView, c: ChalkInstance): string[] {
  const layers = [...r.trainable];
  // counted over layers with weights, as the block lines are: a Dropout neither trains nor stays frozen
  const info = new Map(view.layers.map((l) => [l.path, l]));
  const weighted = layers.filter((p) => (info.get(p)?.trainableParams ?? 1) > 0);
  const out = [
    `  trainable     ${count(weighted.length, 'layer')}, ${count(r.trainableParams, 'param')} (${fmtCount(r.trainableParams)})${r.adapters.length > 0 || r.variables.size > 0 ? ' with the adapters and variables below' : ''}`,
    ...selectionLines(r),
  ];
  if (!view.all) return [...out, ...blockLines(r, view.layers, c)];
  for (const l of layers) {
    const lr = r.layerLr.get(l);
    out.push(`    ${c.green('●')} ${l}${lr !== undefined && lr !== s.lr ? c.dim(`  lr ${fmtLr(lr)}`) : ''}`);
  }
  return out;
}

export function formatPlan(plan: Plan, file: string, c: ChalkInstance, view?: PlanModelView): string {
  const out = planHeader(plan, file, c, view);
  plan.stages.forEach((s, i) => {
    out.push('');
    out.push(
      `${c.bold(`Stage ${i + 1}/${plan.stages.length}`)} ${c.cyan(s.name)}  epochs ${s.firstEpoch}–${s.lastEpoch} (${s.epochs})`,
    );
    out.push(...stageSettings(plan, s, i));
    const r = view?.resolved?.[i];
    if (r && view) out.push(...stageTrainable(s, r, view, c));
  });
  return out.join('\n');
}

/** The stage's adapters and picked variables, per variable kind, with their parameter counts. */
function selectionLines(r: ResolvedStage): string[] {
  const out: string[] = [];
  const on = r.adapters.filter((a) => a.trains);
  if (r.adapters.length > 0) {
    const params = on.reduce((n, a) => n + a.params, 0);
    const held = r.adapters.length - on.length;
    const names = on.slice(0, 4).map((a) => `${a.path} r${a.rank}`);
    out.push(
      `  adapters      ${on.length} LoRA, ${fmtCount(params)} params${held ? ` (${held} more applied, frozen)` : ''}: ${names.join(', ')}${on.length > 4 ? ', …' : ''}`,
    );
  }
  const byName = new Map<string, { layers: number; params: number }>();
  for (const ws of r.variables.values())
    for (const w of ws) {
      const e = byName.get(w.name) ?? { layers: 0, params: 0 };
      byName.set(w.name, { layers: e.layers + 1, params: e.params + w.shape.reduce((a, b) => a * b, 1) });
    }
  for (const [name, e] of byName)
    out.push(`  variables     ${name} of ${count(e.layers, 'frozen layer')}, ${fmtCount(e.params)} params`);
  return out;
}

export function planJson(plan: Plan, file: string, resolved?: ResolvedStage[]): unknown {
  const steps = plan.stepsPerEpoch ?? DEFAULT_SKETCH_STEPS;
  return {
    file,
    ...plan,
    stages: plan.stages.map((s, i) => {
      const r = resolved?.[i];
      return {
        ...s,
        epochLr: epochLrs(s, steps),
        ...(r
          ? {
              trainable: [...r.trainable],
              trainableParams: r.trainableParams,
              layerLr: Object.fromEntries(r.layerLr),
              variables: Object.fromEntries([...r.variables].map(([p, ws]) => [p, ws.map((w) => w.name)])),
              adapters: r.adapters,
            }
          : {}),
      };
    }),
  };
}
