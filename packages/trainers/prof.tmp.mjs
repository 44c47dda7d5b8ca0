import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, registerBuiltinVariants } from './dist/index.js';
import { getVariant, parseVariantOptions } from '@aekit/core';
await selectBackend('wasm');
registerBuiltinVariants();
const plugin = getVariant(process.argv[2] ?? 'conv');
const bs = Number(process.argv[3] ?? 32);
const model = plugin.trainer.build({ config: parseVariantOptions(plugin, {}), inputShape: [28,28,1], seed: 1 });
const x = tf.randomUniform([bs,28,28,1]);
const step = () => tf.tidy(() => { const {value, grads} = tf.variableGrads(() => { const l = model.loss(x, true); return l.total ?? l; }); return value; });
step(); 
const p = await tf.profile(() => step());
const by = {};
for (const k of p.kernels) { const key = k.name + ' ' + JSON.stringify(k.inputShapes); by[key] = (by[key] ?? 0) + (await k.kernelTimeMs); }
console.log(Object.entries(by).sort((a,b)=>b[1]-a[1]).slice(0,16).map(([k,v])=>v.toFixed(1)+' '+k).join('\n'));
const t0 = performance.now(); for (let i=0;i<5;i++) step(); console.log('step ms', (performance.now()-t0)/5);
