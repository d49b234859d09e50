import { isArrayKind } from '@syrup/maps';
import { INPUT_FIELDS, type InputField, type InputKind, type IrInsn, type PolicyIr, type VReg } from '@syrup/core';
import { AsmError, AtomicCode, CallSrc, InsnClass, Instruction, Mode, Mov, Opcode, helperName, resolveLabels, storeImm, type AsmItem, type Register } from '../asm/index.js';
import { buildProgramBtf, type LineAnchor } from '../btf/line-info.js';
import { CodegenError } from './codegen-error.js';
import { Emitter } from './emitter.js';
import { VERDICT_LABELS } from './epilogues.js';
import { NATIVE_LOWERING, type CodegenTarget } from './codegen-target.js';
import type { Frame } from './frame.js';
import { fieldsComputedFrom, loadBoundField } from './input-locations.js';
import { buildLiveIntervals, computeLiveness, insnDef, type Liveness } from './liveness.js';
import { lowerInsn } from './lower-insn.js';
import { planBoundsChecks, regionFacts } from './lower-load.js';
import type { RegionAccess } from './region-access.js';
import { planPointerReuse } from './map-pointer-reuse.js';
import { normalizeIr } from './normalize-ir.js';
import { ALLOCATABLE, CALL_CLOBBERS, FP, Operands } from './operands.js';
import { MAP_TYPE_NUMBERS, type ProgramMapSpec, type ProgramSpec } from './program-spec.js';
import { allocateRegisters, type RegisterAllocation } from './register-allocator.js';
import { MAX_STACK_SIZE, StackLayout } from './stack-layout.js';
import { CODEGEN_TARGETS, type CodegenHook } from './targets/builtin-targets.js';
import { XDP_TEST_HARNESS_TARGET } from './targets/xdp-test-harness-target.js';
import { valueBounds } from './value-bounds.js';

export interface GenerateOptions {
  /**
   * Where the program runs: a {@link CodegenTarget} (any package may define one), or the id
   * of one of this backend's hooks as a shorthand for its entry in `CODEGEN_TARGETS`.
   */
  readonly target: CodegenTarget | CodegenHook;
  /**
   * Targets with a port filter (the XDP hooks), `udp` inputs: only datagrams to this
   * destination port run the policy; every other frame passes untouched. Without it every UDP
   * datagram runs the policy.
   */
  readonly port?: number;
  /** Entries of the executors map (sockets, AF_XDP sockets or CPUs); the code does not depend on it. */
  readonly maxExecutors?: number;
  /** The policy module's source text: its lines go into BTF so verifier logs quote them. */
  readonly sourceText?: string;
}

export interface TestHarnessOptions {
  readonly port?: number;
  readonly sourceText?: string;
}

const DATA_MAP_TYPES = { array: 'array', hash: 'hash', 'percpu-array': 'percpu_array', 'lru-hash': 'lru_hash' } as const;

/** Compiles a policy IR for one target: prologue, policy body, epilogue, maps and line info. */
export function generateProgram(ir: PolicyIr, options: GenerateOptions): ProgramSpec {
  const target = typeof options.target === 'string' ? builtinTarget(options.target) : checkTarget(options.target);
  return build(ir, target, options);
}

/**
 * Compiles a policy IR into the XDP test harness: the XDP prologue of its input kind (`udp` or
 * `packet`), the same body, and an epilogue that writes the decision into the `.result` array
 * (key 0: kind, 0 executor, 1 PASS, 2 DROP; key 1: the executor key) and returns XDP_PASS. It
 * exists so BPF_PROG_TEST_RUN can compare the kernel's decisions with the evaluator's; it is
 * never attached to an interface.
 */
export function generateTestHarness(ir: PolicyIr, options: TestHarnessOptions = {}): ProgramSpec {
  return build(ir, XDP_TEST_HARNESS_TARGET, options);
}

function builtinTarget(hook: string): CodegenTarget {
  if (!Object.hasOwn(CODEGEN_TARGETS, hook)) {
    throw new CodegenError('CODEGEN_INVALID_OPTION', `'${hook}' is not a hook the eBPF code generator builds for.`);
  }
  return CODEGEN_TARGETS[hook as CodegenHook];
}

/** The parts of a target a mistake would only show as a kernel refusal much later. */
function checkTarget(target: CodegenTarget): CodegenTarget {
  const id = typeof target?.id === 'string' && target.id !== '' ? target.id : undefined;
  const problem =
    id === undefined
      ? 'has no id'
      : !Number.isInteger(target.programType?.number)
        ? 'has no BPF_PROG_TYPE number'
        : typeof target.prologue !== 'function' || typeof target.epilogue !== 'function'
          ? 'lacks a prologue or an epilogue function'
          : !Array.isArray(target.inputs) || target.inputs.length === 0
            ? 'offers no input kind'
            : undefined;
  if (problem !== undefined) throw new CodegenError('CODEGEN_INVALID_OPTION', `the code generation target '${id ?? '?'}' ${problem}.`);
  return target;
}

function build(ir: PolicyIr, target: CodegenTarget, options: { port?: number; maxExecutors?: number; sourceText?: string }): ProgramSpec {
  const input = ir.manifest.input;
  if (!target.inputs.includes(input)) {
    throw new CodegenError(
      'CODEGEN_UNSUPPORTED_INPUT',
      `policy '${ir.manifest.name}' takes ${input} inputs, which ${target.id} does not offer (it offers ${target.inputs.join(' and ')}).`,
    );
  }
  checkOptions(target, input, options);

  const normalized = normalizeIr(ir);
  const insns = normalized.insns;
  const { fields, loads } = inputNeeds(insns, input);

  const layout = new StackLayout();
  const frame = layoutFrame(layout, target, input, fields, loads);
  const liveness = computeLiveness(insns, normalized.registerCount);
  const intervals = buildLiveIntervals(insns, liveness);
  const clobbers = insns.map((insn) => clobbersOf(insn, ir));
  const allocation = allocateRegisters(intervals, {
    registers: ALLOCATABLE,
    insnCount: insns.length,
    clobbers: (index) => clobbers[index] ?? [],
    // A spill too many is refused at the policy construct whose value needed the slot.
    newSlot: (interval) => layout.reserve('spill', 8, sourceAt(ir, insns, interval.start)),
    hints: moveHints(insns),
  });

  const lowering = target.lowering ?? NATIVE_LOWERING;
  const e = new Emitter();
  e.storeImmediates(lowering.immediateStores);
  const operands = new Operands(e, allocation.locations);
  e.at({ section: 'prologue' });
  target.prologue({ emitter: e, input, frame, passLabel: VERDICT_LABELS.pass, ...(options.port === undefined ? {} : { port: options.port }) });
  emitZeroInit(e, allocation);

  const boundsPlans = planBoundsChecks(insns);
  // Pointer slots only where the stack has room left after the spills: reuse is an optimization.
  // Without stores into map values an array's set takes no element pointer to share.
  const pointerPlans = lowering.mapValueStores
    ? planPointerReuse(insns, ir.manifest.maps, () => (layout.size + 8 <= MAX_STACK_SIZE ? layout.reserve('map value pointer', 8) : undefined))
    : new Map<number, never>();
  const body = {
    emitter: e,
    operands,
    frame,
    maps: ir.manifest.maps,
    boundsPlans,
    regionFacts: regionFacts(insns, boundsPlans),
    pointerPlans,
    liveCallerSaved: (index: number) => liveCallerSaved(liveness, allocation, insns, index),
    maxValue: valueBounds(insns),
    lowering,
    resultUsed: (index: number) => {
      const def = insnDef(insns[index]!);
      return def !== undefined && liveness.liveOut[index]!.has(def);
    },
  };
  insns.forEach((insn, index) => {
    const irIndex = normalized.originalIndex[index]!;
    const pos = insn.pos;
    e.at(
      pos === undefined ? { section: 'body', irIndex } : { section: 'body', irIndex, pos },
      pos === undefined ? undefined : { file: ir.fileName, line: pos.line, column: pos.column },
    );
    lowerInsn(body, insn, index);
  });
  e.at({ section: 'epilogue' });
  target.epilogue({ emitter: e, frame });
  e.optimize();

  const instructions = e.items;
  checkAllowed(instructions, target, ir);
  const slotCount = countSlots(instructions, ir);
  const origins = e.origins();
  const sourceLines = options.sourceText?.split('\n');
  const anchors: LineAnchor[] = origins.map((origin) => {
    if (origin.pos !== undefined) {
      return { slot: origin.slot, line: origin.pos.line, column: origin.pos.column, text: sourceLines?.[origin.pos.line - 1]?.trim() ?? '' };
    }
    const what = origin.section === 'body' ? `policy ${ir.manifest.name}` : `${target.id} ${input} ${origin.section}`;
    return { slot: origin.slot, line: 0, column: 0, text: `<syrup ${what}>` };
  });

  return Object.freeze({
    name: kernelName(ir.manifest.name),
    target: target.id,
    input,
    fileName: ir.fileName,
    programType: target.programType.name,
    programTypeNumber: target.programType.number,
    ...(target.expectedAttachType === undefined
      ? {}
      : { expectedAttachType: target.expectedAttachType.name, expectedAttachTypeNumber: target.expectedAttachType.number }),
    license: 'Dual BSD/GPL',
    instructions,
    slotCount,
    maps: programMaps(ir, target, options.maxExecutors),
    stackSize: layout.size,
    origins,
    btf: buildProgramBtf({ functionName: kernelName(ir.manifest.name), fileName: ir.fileName, anchors }),
  } satisfies ProgramSpec);
}

/**
 * The policy position of the instruction at a liveness point (instruction i has points 2i+1
 * and 2i+2; point 0 is the entry), or of the nearest one before it that has a position.
 */
function sourceAt(ir: PolicyIr, insns: readonly IrInsn[], point: number): { file: string; line: number; column: number } | undefined {
  for (let i = Math.min(insns.length - 1, Math.max(0, Math.ceil(point / 2) - 1)); i >= 0; i--) {
    const pos = insns[i]?.pos;
    if (pos !== undefined) return { file: ir.fileName, line: pos.line, column: pos.column };
  }
  return undefined;
}

function checkOptions(target: CodegenTarget, input: InputKind, options: { port?: number; maxExecutors?: number }): void {
  if (options.port !== undefined) {
    if (!target.portFilter || input !== 'udp') {
      throw new CodegenError('CODEGEN_INVALID_OPTION', `a port filter applies to udp inputs at XDP hooks, not to ${input} inputs at ${target.id}.`);
    }
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 0xffff) {
      throw new CodegenError('CODEGEN_INVALID_OPTION', `port ${String(options.port)} is not between 1 and 65535.`);
    }
  }
  if (options.maxExecutors !== undefined && (!Number.isInteger(options.maxExecutors) || options.maxExecutors < 1)) {
    throw new CodegenError('CODEGEN_INVALID_OPTION', `maxExecutors ${String(options.maxExecutors)} is not a positive integer.`);
  }
}

/** Fields the prologue computes and whether the body loads bytes. */
function inputNeeds(insns: readonly IrInsn[], input: InputKind): { fields: Set<InputField>; loads: boolean } {
  const fields = new Set<InputField>();
  let loads = false;
  for (const insn of insns) {
    if (insn.op === 'input') fields.add(insn.field);
    if (insn.op === 'load') loads = true;
  }
  for (const field of [...fields]) for (const from of fieldsComputedFrom(field)) fields.add(from);
  // Reads of a UDP payload are bounded by its length.
  const bound = loadBoundField(input);
  if (loads && bound !== undefined) fields.add(bound);
  return { fields, loads };
}

function layoutFrame(layout: StackLayout, target: CodegenTarget, input: InputKind, fields: ReadonlySet<InputField>, loads: boolean): Frame {
  const ctx = layout.reserve('ctx', 8);
  const key = layout.reserve('map key', 8);
  const values: [number, number, number] = [layout.reserve('map operand', 8), layout.reserve('map operand', 8), layout.reserve('map operand', 8)];
  const slots = new Map<InputField, number>();
  for (const field of INPUT_FIELDS[input]) if (fields.has(field)) slots.set(field, layout.reserve(`input ${field}`, 8));
  let access: RegionAccess | undefined;
  if (loads) {
    const baseSlot = layout.reserve('region base', 8);
    const endSlot = layout.reserve('data end', 8);
    const bound = loadBoundField(input);
    const lengthSlot = bound === undefined ? undefined : slots.get(bound);
    const length = lengthSlot === undefined ? {} : { lengthSlot };
    const { displacement } = target.region;
    access =
      target.region.mode === 'direct-or-helper'
        ? {
            mode: 'direct-or-helper',
            baseSlot,
            displacement,
            endSlot,
            ...length,
            ctxSlot: ctx,
            bufferSlot: layout.reserve('load buffer', 8),
            saveSlot: layout.reserve('saved r1-r4', 32),
          }
        : { mode: 'direct', baseSlot, displacement, endSlot, ...length };
  }
  const scratch = target.scratchBytes?.(fields) ?? 0;
  const buffer = scratch > 0 ? layout.reserve('prologue scratch', scratch) : undefined;
  return {
    ctx,
    mapSlots: { key, values },
    fields: slots,
    ...(access === undefined ? {} : { access }),
    ...(buffer === undefined ? {} : { buffer }),
  };
}

/** Registers an instruction destroys: r1-r4 for everything that calls a helper. */
function clobbersOf(insn: IrInsn, ir: PolicyIr): readonly Register[] {
  switch (insn.op) {
    case 'helper':
    case 'map-get':
    case 'map-set':
    case 'map-fetch-add':
    case 'map-cmpxchg':
      return CALL_CLOBBERS;
    case 'map-delete': {
      const spec = ir.manifest.maps[insn.map];
      return spec !== undefined && isArrayKind(spec.kind) ? [] : CALL_CLOBBERS;
    }
    default:
      return [];
  }
}

/** A result would like its first operand's register, which saves a move when that operand dies. */
function moveHints(insns: readonly IrInsn[]): Map<VReg, VReg[]> {
  const hints = new Map<VReg, VReg[]>();
  for (const insn of insns) {
    const source = insn.op === 'mov' ? insn.src : insn.op === 'binary' || insn.op === 'unary' ? insn.a : undefined;
    if (typeof source !== 'number') continue;
    const dst = insnDef(insn)!;
    hints.set(dst, [...(hints.get(dst) ?? []), source]);
  }
  return hints;
}

/** Values read before any write on some path start at 0, as the IR's registers do. */
function emitZeroInit(e: Emitter, allocation: RegisterAllocation): void {
  for (const interval of allocation.intervals) {
    if (!interval.liveAtEntry) continue;
    const loc = allocation.locations.get(interval.vreg)!;
    e.emit(loc.kind === 'register' ? Mov.imm(loc.reg, 0) : storeImm(FP, loc.offset, 0, 'DW'));
  }
}

function liveCallerSaved(liveness: Liveness, allocation: RegisterAllocation, insns: readonly IrInsn[], index: number): Register[] {
  const def = insnDef(insns[index]!);
  const regs: Register[] = [];
  for (const v of liveness.liveOut[index]!.values()) {
    if (v === def) continue;
    const loc = allocation.locations.get(v);
    if (loc?.kind === 'register' && CALL_CLOBBERS.includes(loc.reg) && !regs.includes(loc.reg)) regs.push(loc.reg);
  }
  return regs.sort((a, b) => a - b);
}

function programMaps(ir: PolicyIr, target: CodegenTarget, maxExecutors: number | undefined): ProgramMapSpec[] {
  const maps: ProgramMapSpec[] = Object.entries(ir.manifest.maps).map(([name, spec]) => {
    const type = DATA_MAP_TYPES[spec.kind];
    return { name, role: 'data', type, mapType: MAP_TYPE_NUMBERS[type], keySize: 4, valueSize: 8, maxEntries: spec.maxEntries, dataSpec: spec };
  });
  const system = target.systemMap;
  if (system === undefined) return maps;
  maps.push({
    name: system.name,
    role: system.role,
    type: system.type.name,
    mapType: system.type.number,
    keySize: 4,
    valueSize: system.valueSize,
    maxEntries: system.role === 'executors' ? (maxExecutors ?? system.maxEntries) : system.maxEntries,
  });
  return maps;
}

/**
 * Refuses a program with an instruction its target does not allow: a helper outside
 * `allows.helpers`, an atomic that returns the old value when `allows.fetchAtomics` is false,
 * or one `allows.instruction` names. Body instructions carry their policy position, so the
 * sentence names the line.
 */
function checkAllowed(instructions: readonly AsmItem[], target: CodegenTarget, ir: PolicyIr): void {
  const helpers = new Set<string>(target.allows.helpers);
  for (const item of instructions) {
    if (!(item instanceof Instruction)) continue;
    let needs: string | undefined;
    if (item.opcode === Opcode.CALL && item.src === CallSrc.HELPER) {
      const name = helperName(Number(item.imm)) ?? `#${String(item.imm)}`;
      if (!helpers.has(name)) needs = `the helper bpf_${name}`;
    } else if ((item.opcode & 0x07) === InsnClass.STX && (item.opcode & 0xe0) === Mode.ATOMIC && (Number(item.imm) & AtomicCode.FETCH) !== 0) {
      if (!target.allows.fetchAtomics) needs = 'an atomic operation that returns the old value (fetchAdd or compareExchange on a map)';
    }
    needs ??= target.allows.instruction?.(item);
    if (needs === undefined) continue;
    const where = item.source === undefined ? '' : ` at ${item.source.file}:${item.source.line}:${item.source.column}`;
    throw new CodegenError('CODEGEN_NOT_ALLOWED', `policy '${ir.manifest.name}' needs ${needs}${where}, which ${target.id} does not allow.`, {
      ...(item.source === undefined ? {} : { location: item.source }),
    });
  }
}

/** Resolves the labels once here, so a program too long for 16-bit jump offsets fails as a CodegenError. */
function countSlots(instructions: readonly AsmItem[], ir: PolicyIr): number {
  try {
    return resolveLabels(instructions).slotCount;
  } catch (error) {
    if (error instanceof AsmError && error.code === 'ASM_JUMP_RANGE') {
      throw new CodegenError(
        'CODEGEN_PROGRAM_TOO_LARGE',
        `policy '${ir.manifest.name}' compiles to a program whose jumps exceed the ±32767 instructions an eBPF jump reaches.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** A kernel object name: at most 15 characters of [A-Za-z0-9_]. */
function kernelName(policyName: string): string {
  return policyName.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 15) || 'syrup';
}
