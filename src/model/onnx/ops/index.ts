// The converter table: one entry per ONNX op type, one file per op family. Adding an op is one file
// (or one entry in its family's file) and one line here.
import type { Converter } from '../context.js';
import { ACTIVATION } from './activation.js';
import { BATCHNORM } from './batchnorm.js';
import { CONV } from './conv.js';
import { DENSE } from './dense.js';
import { ELEMENTWISE } from './elementwise.js';
import { MISC } from './misc.js';
import { POOL } from './pool.js';
import { SHAPE } from './shape.js';

export const CONVERTERS: Readonly<Record<string, Converter>> = {
  ...CONV,
  ...BATCHNORM,
  ...ACTIVATION,
  ...ELEMENTWISE,
  ...POOL,
  ...SHAPE,
  ...DENSE,
  ...MISC,
};
