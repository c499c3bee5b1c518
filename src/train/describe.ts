// The seam `plan --model` and `inspect --schedule` use: real layer names of the fine-tuning model.
import { initInspectionBackend } from '../backend/index.js';
import type { LayerInfo, Plan } from '../schedule/plan.js';
import { buildFineTuneModel, classCountHint } from './finetune-model.js';
import { listLayers } from '../model/layers.js';

export async function describeFineTuneLayers(plan: Plan, scheduleFile: string, source?: string): Promise<LayerInfo[]> {
  await initInspectionBackend();
  const model = await buildFineTuneModel(plan, scheduleFile, classCountHint(plan, scheduleFile), source);
  return listLayers(model).map(
    ({ path, className, trainableParams, nonTrainableParams, isBatchNorm, isHead, weights }) => ({
      path,
      className,
      trainableParams,
      nonTrainableParams,
      isBatchNorm,
      isHead,
      ...(weights ? { weights } : {}),
    }),
  );
}
