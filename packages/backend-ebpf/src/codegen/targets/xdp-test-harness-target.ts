import { Add, Mov, R0, R1, R2, R3, R4, call, exit, ja, loadMapPtr, storeImm, storeMem } from '../../asm/index.js';
import { POLICY_BODY_HELPERS, type CodegenTarget, type TargetEpilogueContext } from '../codegen-target.js';
import { EXECUTOR_KEY, HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES, VERDICT_LABELS, XDP_PASS } from '../epilogues.js';
import { FP } from '../operands.js';
import { MAP_TYPE_NUMBERS } from '../program-spec.js';
import { XDP_PROGRAM } from './xdp-targets.js';

/**
 * The XDP test harness: the XDP prologue, and an epilogue that writes the decision into the
 * `.result` array (key 0: kind, see HARNESS_RESULT_KIND; key 1: the executor key) and returns
 * XDP_PASS, so BPF_PROG_TEST_RUN can compare the kernel's decisions with the evaluator's. A
 * test tool, never attached anywhere.
 */
export const XDP_TEST_HARNESS_TARGET: CodegenTarget = Object.freeze<CodegenTarget>({
  ...XDP_PROGRAM,
  id: 'xdp-test-harness',
  systemMap: Object.freeze({ name: SYSTEM_MAP_NAMES.result, role: 'result', type: { name: 'array', number: MAP_TYPE_NUMBERS.array }, valueSize: 8, maxEntries: 2 }),
  epilogue: emitHarnessEpilogue,
  allows: { helpers: POLICY_BODY_HELPERS, fetchAtomics: true },
});

/**
 * The harness keeps the whole u64 executor key: it reports the policy's decision, not what a
 * hook would make of it. All verdicts share one tail that writes both result entries.
 */
function emitHarnessEpilogue({ emitter: e, frame }: TargetEpilogueContext): void {
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
