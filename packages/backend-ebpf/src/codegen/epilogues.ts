import {
  Add,
  JNE,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  RSh,
  call,
  exit,
  ja,
  loadMapPtr,
  loadMem,
  storeImm,
  storeMem,
} from '../asm/index.js';
import type { Emitter } from './emitter.js';
import type { Frame } from './frame.js';
import { FP } from './operands.js';
import type { CodegenTarget } from './program-spec.js';

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

/**
 * Emits the hook's ending for each verdict the code jumps to (only those: the verifier
 * rejects unreachable code). Executor keys of 2^32 or more answer PASS at the hooks, whose
 * maps take u32 keys; keys proven smaller enter after that check.
 * - socket-select: `sk_select_reuseport(ctx, &executors, &k, 0)` then SK_PASS; if no socket is
 *   at k the kernel's hash fallback picks one, exactly as PASS. PASS is SK_PASS without a
 *   selection, DROP is SK_DROP.
 * - XDP hooks: `bpf_redirect_map(&executors, k, XDP_PASS)`, whose miss answers XDP_PASS.
 * - the test harness: records the decision in the result map and returns XDP_PASS.
 */
export function emitEpilogues(e: Emitter, target: CodegenTarget, frame: Frame): void {
  if (target === 'xdp-test-harness') {
    emitHarnessEpilogues(e, frame);
    return;
  }
  const socket = target === 'socket-select';
  if (e.isReferenced(VERDICT_LABELS.executor)) {
    e.label(VERDICT_LABELS.executor);
    e.emit(Mov.reg(R5, EXECUTOR_KEY), RSh.imm(R5, 32), JNE.imm(R5, 0, VERDICT_LABELS.pass));
  }
  if (e.isReferenced(VERDICT_LABELS.executor) || e.isReferenced(VERDICT_LABELS.executor32)) {
    e.label(VERDICT_LABELS.executor32);
    if (socket) {
      e.emit(storeMem(FP, frame.mapSlots.key, EXECUTOR_KEY, 'W'), loadMem(R1, FP, frame.ctx, 'DW'));
      e.emit(loadMapPtr(R2, SYSTEM_MAP_NAMES.executors), Mov.reg(R3, FP), Add.imm(R3, frame.mapSlots.key), Mov.imm(R4, 0));
      e.emit(call('sk_select_reuseport'), Mov.imm(R0, SK_PASS), exit());
    } else {
      e.emit(loadMapPtr(R1, SYSTEM_MAP_NAMES.executors), Mov.imm(R3, XDP_PASS), call('redirect_map'), exit());
    }
  }
  if (e.isReferenced(VERDICT_LABELS.drop)) {
    e.label(VERDICT_LABELS.drop);
    e.emit(Mov.imm(R0, socket ? SK_DROP : XDP_DROP), exit());
  }
  if (e.isReferenced(VERDICT_LABELS.pass)) {
    e.label(VERDICT_LABELS.pass);
    e.emit(Mov.imm(R0, socket ? SK_PASS : XDP_PASS), exit());
  }
}

/**
 * The harness keeps the whole u64 executor key: it reports the policy's decision, not what a
 * hook would make of it.
 */
function emitHarnessEpilogues(e: Emitter, frame: Frame): void {
  const record = '.record';
  const [kindSlot, valueSlot] = frame.mapSlots.values;
  if (e.isReferenced(VERDICT_LABELS.executor) || e.isReferenced(VERDICT_LABELS.executor32)) {
    e.label(VERDICT_LABELS.executor);
    e.label(VERDICT_LABELS.executor32);
    e.emit(storeMem(FP, valueSlot, EXECUTOR_KEY, 'DW'), Mov.imm(R0, HARNESS_RESULT_KIND.executor), ja(record));
  }
  if (e.isReferenced(VERDICT_LABELS.drop)) {
    e.label(VERDICT_LABELS.drop);
    e.emit(storeImm(FP, valueSlot, 0, 'DW'), Mov.imm(R0, HARNESS_RESULT_KIND.drop), ja(record));
  }
  if (e.isReferenced(VERDICT_LABELS.pass)) {
    e.label(VERDICT_LABELS.pass);
    e.emit(storeImm(FP, valueSlot, 0, 'DW'), Mov.imm(R0, HARNESS_RESULT_KIND.pass));
  }
  e.label(record);
  e.emit(storeMem(FP, kindSlot, R0, 'DW'));
  for (const [key, slot] of [
    [1, valueSlot],
    [0, kindSlot],
  ] as const) {
    e.emit(storeImm(FP, frame.mapSlots.key, key, 'W'), loadMapPtr(R1, SYSTEM_MAP_NAMES.result), Mov.reg(R2, FP), Add.imm(R2, frame.mapSlots.key));
    e.emit(Mov.reg(R3, FP), Add.imm(R3, slot), Mov.imm(R4, 0), call('map_update_elem'));
  }
  e.emit(Mov.imm(R0, XDP_PASS), exit());
}
