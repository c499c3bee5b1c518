import type { LayerInfo, Plan } from '../schedule/plan.js';
export async function describeFineTuneLayers(_plan: Plan, _file: string, _model?: string): Promise<LayerInfo[]> {
  throw new Error('not yet');
}
