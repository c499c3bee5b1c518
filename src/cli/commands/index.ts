// The commands, in the order --help lists them: each file declares its options and handler.
import type { Command } from 'commander';
import { addValidate } from './validate.js';
import { addPlan } from './plan.js';
import { addInit } from './init.js';
import { addInspect } from './inspect.js';
import { addTrain } from './train.js';
import { addFinetune } from './finetune.js';
import { addCompare } from './compare.js';
import { addRunJob } from './run-job.js';
import { addLrFind } from './lr-find.js';
import { addReport } from './report.js';
import { addDoctor } from './doctor.js';
import { addImport } from './import.js';
import { addMerge } from './merge.js';
import { addExport } from './export.js';
import { addPredict } from './predict.js';
import { addEvaluate } from './evaluate.js';
import { addCompletion } from './completion.js';

export const COMMANDS: readonly ((program: Command) => void)[] = [
  addValidate,
  addPlan,
  addInit,
  addInspect,
  addTrain,
  addFinetune,
  addCompare,
  addRunJob,
  addLrFind,
  addReport,
  addDoctor,
  addImport,
  addMerge,
  addExport,
  addPredict,
  addEvaluate,
  addCompletion,
];
