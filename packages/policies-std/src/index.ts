import { fileURLToPath } from 'node:url';

/** The policies of the pack, by name; each is `src/<name>.ts` and the export `@syrup/policies-std/<name>`. */
export const STANDARD_POLICY_NAMES = ['round-robin', 'hash', 'key-hash', 'sita', 'scan-avoid', 'token-qos', 'get-priority'] as const;
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

// Userspace companions: classes the application runs next to a deployed policy, over its maps.
// They are not policies, so they are not in STANDARD_POLICY_NAMES.
export { CompanionError, type CompanionErrorCode } from './companion-error.js';
export { ScanTracker } from './scan-tracker.js';
export { TokenRefiller, type TokenRefillerOptions } from './token-refiller.js';
export { WorkerThreads } from './worker-threads.js';
