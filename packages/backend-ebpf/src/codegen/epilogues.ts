import { R2 } from '../asm/index.js';

/**
 * Labels the body jumps to with its decision. An executor key travels in {@link EXECUTOR_KEY}:
 * to `executor` when it may be 2^32 or more, to `executor32` when the code generator proved it
 * is not (which skips the hooks' range check).
 */
export const VERDICT_LABELS = Object.freeze({ executor: '.executor', executor32: '.executor32', pass: '.pass', drop: '.drop' });

/**
 * The register an executor key is left in: r2, where bpf_redirect_map takes it, so the XDP
 * ending needs no move. Nothing runs after the jump to the ending, so any value that lived in
 * r2 is dead by then.
 */
export const EXECUTOR_KEY = R2;

/** Symbolic names of the system maps; a leading dot keeps them apart from policy map names. */
export const SYSTEM_MAP_NAMES = Object.freeze({ executors: '.executors', result: '.result' });

/** Return codes (include/uapi/linux/bpf.h). */
export const SK_DROP = 0;
export const SK_PASS = 1;
export const XDP_DROP = 1;
export const XDP_PASS = 2;

/** What the test harness writes at key 0 of its result map; key 1 holds the executor key. */
export const HARNESS_RESULT_KIND = Object.freeze({ executor: 0, pass: 1, drop: 2 });
