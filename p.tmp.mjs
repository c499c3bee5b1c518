import * as tf from '@tensorflow/tfjs';
import { initBackend } from './dist/src/backend/index.js';
import { loadModel } from './dist/src/model/io.js';
import { attachHead, cutModel } from './dist/src/model/surgery.js';
await initBackend('wasm');
const m = attachHead(cutModel(await loadModel('/work/shared/models/tm-nail-biting/model.json')), [{dense:{units:'auto',activation:'softmax'}}], 3);
const B = 8;
const x = tf.randomUniform([B,224,224,3],-1,1); const y = tf.oneHot(tf.tensor1d([0,1,2,0,1,2,0,1],'int32'),3);
const vars = m.trainableWeights.map(w=>w.read());
const step = () => tf.tidy(()=>{ const {value,grads} = tf.variableGrads(()=>tf.mean(tf.metrics.categoricalCrossentropy(y, m.apply(x,{training:true}))), vars); value.dataSync(); });
step();
const t0 = performance.now();
const prof = await tf.profile(step);
console.log('step ms', (performance.now()-t0).toFixed(0));
const agg = new Map();
for (const k of prof.kernels) { const t = await k.kernelTimeMs; const key = k.name; const a = agg.get(key) ?? {ms:0,n:0}; a.ms += typeof t === 'number' ? t : 0; a.n++; agg.set(key,a); }
console.log([...agg].sort((a,b)=>b[1].ms-a[1].ms).slice(0,14).map(([k,v])=>`${k} ${v.ms.toFixed(0)}ms x${v.n}`).join('\n'));
