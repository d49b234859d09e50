// @syrup/backend-ebpf/codegen: policy IR -> eBPF program specs (pure; no syscalls).
// Owns code generation targets as data (prologue, epilogue, verdict endings, program type,
// allowed helpers and atomics), the built-in hooks' targets, and what a new target is written with.
export { CodegenError } from './codegen-error.js';
export type { CodegenErrorCode, CodegenErrorLocation } from './codegen-error.js';

export { generateProgram, generateTestHarness } from './generate-program.js';
export type { GenerateOptions, TestHarnessOptions } from './generate-program.js';

// Code generation off the calling thread: this backend's targets, by id, on a worker.
export { CodegenPool } from './worker/codegen-pool.js';
export type { ProgramGenerator } from './worker/codegen-pool.js';
export type { BuiltinCodegenOptions } from './worker/codegen-messages.js';
export { codegenWorkerEntry } from './worker/codegen-worker-entry.js';
export type { CodegenWorkerEntry } from './worker/codegen-worker-entry.js';

export { NATIVE_LOWERING, POLICY_BODY_HELPERS, verdictEpilogue } from './codegen-target.js';
export type {
  CodegenTarget,
  KernelEnum,
  TargetAllowances,
  TargetEpilogueContext,
  TargetPrologueContext,
  TargetRegion,
  TargetLowering,
  TargetSystemMap,
  VerdictEndings,
} from './codegen-target.js';

export { CODEGEN_HOOKS, CODEGEN_TARGETS } from './targets/builtin-targets.js';
export type { CodegenHook } from './targets/builtin-targets.js';
export { SOCKET_SELECT_TARGET } from './targets/socket-select-target.js';
export { CPU_REDIRECT_TARGET, XDP_DRV_TARGET, XDP_PROGRAM, XDP_SKB_TARGET, emitXdpPrologue } from './targets/xdp-targets.js';
export { XDP_TEST_HARNESS_TARGET } from './targets/xdp-test-harness-target.js';

// What a target's prologue and epilogue are written with.
export { Emitter } from './emitter.js';
export { fieldSlot } from './frame.js';
export type { Frame } from './frame.js';
export type { MapOpSlots } from './lower-map-op.js';
export { emitWideDivideSlots, emitWideMultiplyRegisters, emitWideMultiplySlots } from './wide-arithmetic.js';
export type { WideSlots } from './wide-arithmetic.js';
export type { RegionAccess } from './region-access.js';
export { FP } from './operands.js';
export {
  EXECUTOR_KEY,
  HARNESS_RESULT_KIND,
  SK_DROP,
  SK_PASS,
  SYSTEM_MAP_NAMES,
  VERDICT_LABELS,
  XDP_DROP,
  XDP_PASS,
} from './epilogues.js';
export { SK_REUSEPORT_MD, emitSocketSelectPrologue } from './prologues/socket-select.js';
export { XDP_MD, emitXdpPacketPrologue, emitXdpUdpPrologue } from './prologues/xdp.js';
export type { XdpPrologueOptions } from './prologues/xdp.js';

export { ATTACH_TYPE_NUMBERS, MAP_TYPE_NUMBERS, PROGRAM_TYPE_NUMBERS, originOfSlot, sourceOfSlot } from './program-spec.js';
export type {
  ExpectedAttachType,
  ProgramMapRole,
  ProgramMapSpec,
  ProgramMapType,
  ProgramSpec,
  ProgramType,
  SlotOrigin,
  SlotSection,
} from './program-spec.js';

// The generator's passes, for tests and tools that inspect them.
export { normalizeIr } from './normalize-ir.js';
export type { NormalizedIr } from './normalize-ir.js';
export { VRegSet, buildLiveIntervals, computeLiveness, defPoint, insnDef, insnUses, successors, usePoint } from './liveness.js';
export type { LiveInterval, Liveness } from './liveness.js';
export { allocateRegisters } from './register-allocator.js';
export type { AllocationOptions, Location, RegisterAllocation } from './register-allocator.js';
