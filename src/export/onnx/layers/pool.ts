// Pooling: Max/AveragePooling2D as MaxPool/AveragePool (TensorFlow's 'same' as explicit pads; its average
// leaves the padding out of the count, as ONNX's count_include_pad=0 does), global pooling as a reduction.
import { refuse, type LayerJob, type Value } from '../context.js';
import { samePads } from './conv.js';

type Pair = [number, number];
const pair = (v: unknown): Pair | undefined =>
  v === undefined || v === null ? undefined : Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number];

function pool(op: 'MaxPool' | 'AveragePool') {
  return (job: LayerJob): Value => {
    const kernel = pair(job.config['poolSize']) ?? [2, 2];
    const strides = pair(job.config['strides']) ?? kernel;
    const padding = (job.config['padding'] as string | undefined) ?? 'valid';
    if (padding !== 'valid' && padding !== 'same') refuse(job, `padding '${padding}'`);
    const pads = padding === 'same' ? samePads(job, kernel, strides, [1, 1]) : [0, 0, 0, 0];
    const x = job.cx.nchw(job.inputs[0]!);
    const out = job.g.node(op, [x], job.layer.name, { kernel_shape: kernel, strides, pads });
    return { name: out, shape: job.outShape, nchw: true };
  };
}

export const maxPoolLayer = pool('MaxPool');
export const averagePoolLayer = pool('AveragePool');

function globalPool(op: 'ReduceMean' | 'ReduceMax') {
  return (job: LayerJob): Value => {
    const keep = job.config['keepDims'] === true;
    const x = job.cx.nchw(job.inputs[0]!);
    const out = job.g.node(op, [x], job.layer.name, { axes: [2, 3], keepdims: keep ? 1 : 0 });
    return { name: out, shape: job.outShape, nchw: keep };
  };
}

export const globalAveragePoolLayer = globalPool('ReduceMean');
export const globalMaxPoolLayer = globalPool('ReduceMax');
