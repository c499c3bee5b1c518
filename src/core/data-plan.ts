// The plan's data section (plain, normalized): schedule/ builds it, data/ opens what it names.
import type { Preprocess } from './preprocess.js';

export interface DataPlan {
  source: string;
  samples?: number;
  validationSplit: number;
  validationFolder?: string;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  imageSize?: [number, number];
  resize: 'cover' | 'contain' | 'stretch';
  preprocess: Preprocess;
  cacheMB: number;
  augment: { flip: boolean; rotate: number; crop: number; brightness: number; contrast: number; views?: number };
}
