// Test hooks that only the end-to-end build contains (vite defines __BOXED_E2E__ as true there and false
// in the product build, which drops this code). With a random synthetic model no two candidates ever
// write a \boxed answer, so the heavy-mode test sets `window.__boxedE2E.heavyPrefixes`: the text each
// candidate continues from (HeavyRequest.continueFrom), answers that differ, so that GenSelect runs.
declare const __BOXED_E2E__: boolean | undefined;

export function heavyPrefixesForTests(): string[] | undefined {
  if (typeof __BOXED_E2E__ === 'undefined' || !__BOXED_E2E__) return undefined;
  const hooks = (globalThis as { __boxedE2E?: { heavyPrefixes?: unknown } }).__boxedE2E;
  const p = hooks?.heavyPrefixes;
  return Array.isArray(p) && p.every((x) => typeof x === 'string') ? (p as string[]) : undefined;
}
