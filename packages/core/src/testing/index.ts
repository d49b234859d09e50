// Test support that other packages reuse (the kernel differential suites of the backends):
// random valid policies, random inputs, and the seeded PRNG that makes both reproducible.
export { SeededRandom } from '../compiler/testing/seeded-random.js';
export { generateRandomPolicy, type RandomPolicy, type RandomPolicyOptions } from '../compiler/testing/random-policy.js';
export { generateRandomInput } from '../compiler/testing/random-input.js';
// Unit tests of a policy without root: compile it as syrupd does and run it in the evaluator
// over given inputs and map contents (docs/writing-a-policy-pack.md).
export { assertDecisions, decisionOf, runPolicy, type ExpectedDecision, type MapContents, type PolicyRun, type RunPolicyOptions } from './run-policy.js';
export { PolicyTestError } from './policy-test-error.js';
