// A tfjs app with no freezeflow code: stock @tensorflow/tfjs-core, -layers and the cpu backend load a
// model over http (as a web page does) and predict. Used by test/export.test.ts to prove an export loads
// anywhere. Usage: node test/stock-tfjs.mjs MODEL_URL INPUT.bin N H W C  → JSON {outputs, classes} on stdout
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as layers from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';

const [url, inputFile, ...dims] = process.argv.slice(2);
await tf.setBackend('cpu');
const model = await layers.loadLayersModel(url);
const b = readFileSync(inputFile);
const x = tf.tensor4d(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), dims.map(Number));
const y = model.predict(x);
process.stdout.write(`${JSON.stringify({ outputs: Array.from(await y.data()), classes: y.shape.at(-1) })}\n`);
