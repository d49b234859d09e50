/**
 * Bounds that keep every compiled policy inside the kernel verifier's budget (and keep the
 * compiler itself fast on untrusted source). Exceeding one is a compile error at the place
 * that crossed it.
 */
export const POLICY_LIMITS = Object.freeze({
  /** Bytes of source text (UTF-16 code units) a policy module may have. */
  maxSourceLength: 64 * 1024,
  /** Statements, expressions and inlined calls nested inside each other. */
  maxNestingDepth: 200,
  /** IR instructions after inlining every call and unrolling every loop. */
  maxIrInstructions: 4096,
  /** Iterations of one loop. */
  maxLoopIterations: 1024,
  /**
   * Statements and expressions the compiler may walk after inlining and unrolling, dead code
   * and constant folding included: it bounds compile time for sources built to explode (calls
   * that double at every level, a big constant folded in every unrolled iteration).
   */
  maxLoweringSteps: 250_000,
});

export type PolicyLimits = typeof POLICY_LIMITS;
