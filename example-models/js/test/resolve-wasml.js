// Node module-resolution hook: every `wasml:model/...` import is served by `host-mock.js`.

const mock = new URL('./host-mock.js', import.meta.url).href;

/** Redirects `wasml:` specifiers to the mock host; everything else resolves as usual. */
export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('wasml:model/')) {
    return { url: mock, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
