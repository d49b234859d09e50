import { fileURLToPath } from 'node:url';

/** The policies of the pack, by name; each is `src/<name>.ts` and the export `@syrup/policies-std/<name>`. */
export const STANDARD_POLICY_NAMES = ['round-robin', 'hash', 'sita', 'scan-avoid', 'token-qos'] as const;
export type StandardPolicyName = (typeof STANDARD_POLICY_NAMES)[number];

/**
 * The file of a standard policy's TypeScript source, to read and hand to the compiler (the
 * pack ships its sources; policy code is never imported and run as JavaScript). The path is
 * the same from the sources and from the built `dist/`, both one level below the package root.
 */
export function standardPolicyPath(name: StandardPolicyName): string {
  if (!(STANDARD_POLICY_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`'${String(name)}' is not a standard policy; the pack has ${STANDARD_POLICY_NAMES.join(', ')}.`);
  }
  return fileURLToPath(new URL(`../src/${name}.ts`, import.meta.url));
}
