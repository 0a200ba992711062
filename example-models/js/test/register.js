// Resolves the component imports `wasml:model/store@0.1.0` and `wasml:model/log@0.1.0` to
// `host-mock.js` under Node: `node --import ./test/register.js --test`.
import { register } from 'node:module';

register('./resolve-wasml.js', import.meta.url);
