// Node module-resolution hook: every `wasml:model/...` import is served by `host-mock.js`, every
// `wasi:nn/...` import by `nn-mock.js`.

const mock = new URL('./host-mock.js', import.meta.url).href;
const nnMock = new URL('./nn-mock.js', import.meta.url).href;

/** Redirects `wasml:` and `wasi:nn` specifiers to the mocks; everything else resolves as usual. */
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('wasml:model/')) {
    return { url: mock, shortCircuit: true };
  }
  if (specifier.startsWith('wasi:nn/')) {
    return { url: nnMock, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
