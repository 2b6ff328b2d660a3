// Module resolution hook used while building components (registered by build.ts).
//
// componentize-js loads `@bytecodealliance/preview2-shim` without declaring it as a
// dependency, so a package manager may not install it where componentize-js can see it. jco
// depends on the shim properly; when the plain lookup fails, resolve it from jco's location.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.startsWith('@bytecodealliance/preview2-shim')) throw err;
    const fromJco = await nextResolve('@bytecodealliance/jco', context);
    return nextResolve(specifier, { ...context, parentURL: fromJco.url });
  }
}
