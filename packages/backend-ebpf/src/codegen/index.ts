// IR -> eBPF code generation (pure; no syscalls): hook prologues and epilogues around the
// policy body, register allocation, bounds-checked loads, map operations, line info.
export { CodegenError } from './codegen-error.js';
export type { CodegenErrorCode, CodegenErrorLocation } from './codegen-error.js';

export { generateProgram, generateTestHarness } from './generate-program.js';
export type { GenerateOptions, TestHarnessOptions } from './generate-program.js';

export {
  ATTACH_TYPE_NUMBERS,
  CODEGEN_HOOKS,
  MAP_TYPE_NUMBERS,
  PROGRAM_TYPE_NUMBERS,
  originOfSlot,
  sourceOfSlot,
} from './program-spec.js';
export type {
  CodegenHook,
  CodegenTarget,
  ExpectedAttachType,
  ProgramMapRole,
  ProgramMapSpec,
  ProgramMapType,
  ProgramSpec,
  ProgramType,
  SlotOrigin,
  SlotSection,
} from './program-spec.js';

export { HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES } from './epilogues.js';

export { normalizeIr } from './normalize-ir.js';
export type { NormalizedIr } from './normalize-ir.js';
export { VRegSet, buildLiveIntervals, computeLiveness, defPoint, insnDef, insnUses, successors, usePoint } from './liveness.js';
export type { LiveInterval, Liveness } from './liveness.js';
export { allocateRegisters } from './register-allocator.js';
export type { AllocationOptions, Location, RegisterAllocation } from './register-allocator.js';
