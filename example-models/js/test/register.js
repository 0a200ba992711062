// Resolves the component imports (`wasml:model/store@0.1.0`, `wasi:nn/graph@...`...) to
// `host-mock.js` and `nn-mock.js` under Node: `node --import ./test/register.js --test`.
import { register } from 'node:module';

register('./resolve-wasml.js', import.meta.url);
