// Test support that other packages reuse (the kernel differential suites of the backends):
// random valid policies, random inputs, and the seeded PRNG that makes both reproducible.
export { SeededRandom } from '../compiler/testing/seeded-random.js';
export { generateRandomPolicy, type RandomPolicy, type RandomPolicyOptions } from '../compiler/testing/random-policy.js';
export { generateRandomInput } from '../compiler/testing/random-input.js';
