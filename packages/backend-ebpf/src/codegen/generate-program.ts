import { isArrayKind } from '@syrup/maps';
import { INPUT_FIELDS, type InputField, type InputKind, type IrInsn, type PolicyIr, type VReg } from '@syrup/core';
import { AsmError, Mov, resolveLabels, storeImm, type AsmItem, type Register } from '../asm/index.js';
import { buildProgramBtf, type LineAnchor } from '../btf/line-info.js';
import { CodegenError } from './codegen-error.js';
import { Emitter } from './emitter.js';
import { SYSTEM_MAP_NAMES, VERDICT_LABELS, emitEpilogues } from './epilogues.js';
import type { Frame } from './frame.js';
import { buildLiveIntervals, computeLiveness, insnDef, type Liveness } from './liveness.js';
import { lowerInsn } from './lower-insn.js';
import { planBoundsChecks, regionFacts, type RegionAccess } from './lower-load.js';
import { planPointerReuse } from './map-pointer-reuse.js';
import { normalizeIr } from './normalize-ir.js';
import { ALLOCATABLE, CALL_CLOBBERS, FP, Operands } from './operands.js';
import {
  ATTACH_TYPE_NUMBERS,
  MAP_TYPE_NUMBERS,
  PROGRAM_TYPE_NUMBERS,
  type CodegenHook,
  type CodegenTarget,
  type ExpectedAttachType,
  type ProgramMapSpec,
  type ProgramMapType,
  type ProgramSpec,
  type ProgramType,
} from './program-spec.js';
import { emitSocketSelectPrologue } from './prologues/socket-select.js';
import { emitXdpPacketPrologue, emitXdpUdpPrologue } from './prologues/xdp.js';
import { allocateRegisters, type RegisterAllocation } from './register-allocator.js';
import { MAX_STACK_SIZE, StackLayout } from './stack-layout.js';
import { valueBounds } from './value-bounds.js';

export interface GenerateOptions {
  readonly hook: CodegenHook;
  /**
   * XDP hooks with a `udp` input: only datagrams to this destination port run the policy;
   * every other frame passes untouched. Without it every UDP datagram runs the policy.
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

interface TargetInfo {
  readonly programType: ProgramType;
  readonly attach: ExpectedAttachType;
  readonly inputs: readonly InputKind[];
  readonly systemMap: { readonly name: string; readonly role: 'executors' | 'result'; readonly type: ProgramMapType; readonly valueSize: number; readonly maxEntries: number };
}

const XSK_EXECUTORS = { name: SYSTEM_MAP_NAMES.executors, role: 'executors', type: 'xskmap', valueSize: 4, maxEntries: 64 } as const;

/**
 * The executors map per hook. REUSEPORT_SOCKARRAY takes a socket fd as u64 and reads back its
 * cookie; XSKMAP takes an AF_XDP socket fd; CPUMAP takes `struct bpf_cpumap_val` (qsize, prog fd).
 */
const TARGETS: Readonly<Record<CodegenTarget, TargetInfo>> = {
  'socket-select': {
    programType: 'sk_reuseport',
    attach: 'sk_reuseport_select',
    inputs: ['udp', 'tcp'],
    systemMap: { name: SYSTEM_MAP_NAMES.executors, role: 'executors', type: 'reuseport_sockarray', valueSize: 8, maxEntries: 128 },
  },
  'xdp-skb': { programType: 'xdp', attach: 'xdp', inputs: ['udp', 'packet'], systemMap: XSK_EXECUTORS },
  'xdp-drv': { programType: 'xdp', attach: 'xdp', inputs: ['udp', 'packet'], systemMap: XSK_EXECUTORS },
  'cpu-redirect': {
    programType: 'xdp',
    attach: 'xdp',
    inputs: ['udp', 'packet'],
    systemMap: { name: SYSTEM_MAP_NAMES.executors, role: 'executors', type: 'cpumap', valueSize: 8, maxEntries: 128 },
  },
  'xdp-test-harness': {
    programType: 'xdp',
    attach: 'xdp',
    inputs: ['udp', 'packet'],
    systemMap: { name: SYSTEM_MAP_NAMES.result, role: 'result', type: 'array', valueSize: 8, maxEntries: 2 },
  },
};

const DATA_MAP_TYPES = { array: 'array', hash: 'hash', 'percpu-array': 'percpu_array', 'lru-hash': 'lru_hash' } as const;

/** Compiles a policy IR for one hook: prologue, policy body, epilogue, maps and line info. */
export function generateProgram(ir: PolicyIr, options: GenerateOptions): ProgramSpec {
  if (!Object.hasOwn(TARGETS, options.hook) || options.hook === ('xdp-test-harness' as string)) {
    throw new CodegenError('CODEGEN_INVALID_OPTION', `'${String(options.hook)}' is not a hook the eBPF code generator builds for.`);
  }
  return build(ir, options.hook, options);
}

/**
 * Compiles a policy IR into the XDP test harness: the XDP prologue of its input kind (`udp` or
 * `packet`), the same body, and an epilogue that writes the decision into the `.result` array
 * (key 0: kind, 0 executor, 1 PASS, 2 DROP; key 1: the executor key) and returns XDP_PASS. It
 * exists so BPF_PROG_TEST_RUN can compare the kernel's decisions with the evaluator's; it is
 * never attached to an interface.
 */
export function generateTestHarness(ir: PolicyIr, options: TestHarnessOptions = {}): ProgramSpec {
  return build(ir, 'xdp-test-harness', options);
}

function build(ir: PolicyIr, target: CodegenTarget, options: { port?: number; maxExecutors?: number; sourceText?: string }): ProgramSpec {
  const info = TARGETS[target];
  const input = ir.manifest.input;
  if (!info.inputs.includes(input)) {
    throw new CodegenError(
      'CODEGEN_UNSUPPORTED_INPUT',
      `policy '${ir.manifest.name}' takes ${input} inputs, which ${target} does not offer (it offers ${info.inputs.join(' and ')}).`,
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
    newSlot: () => layout.reserve('spill', 8),
    hints: moveHints(insns),
  });

  const e = new Emitter();
  const operands = new Operands(e, allocation.locations);
  e.at({ section: 'prologue' });
  if (target === 'socket-select') emitSocketSelectPrologue(e, input as 'udp' | 'tcp', frame, VERDICT_LABELS.pass);
  else if (input === 'udp') emitXdpUdpPrologue(e, frame, VERDICT_LABELS.pass, options.port === undefined ? {} : { port: options.port });
  else emitXdpPacketPrologue(e, frame);
  emitZeroInit(e, allocation);

  const boundsPlans = planBoundsChecks(insns);
  // Pointer slots only where the stack has room left after the spills: reuse is an optimization.
  const pointerPlans = planPointerReuse(insns, ir.manifest.maps, () =>
    layout.size + 8 <= MAX_STACK_SIZE ? layout.reserve('map value pointer', 8) : undefined,
  );
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
  emitEpilogues(e, target, frame);
  e.optimize();

  const instructions = e.items;
  const slotCount = countSlots(instructions, ir);
  const origins = e.origins();
  const sourceLines = options.sourceText?.split('\n');
  const anchors: LineAnchor[] = origins.map((origin) => {
    if (origin.pos !== undefined) {
      return { slot: origin.slot, line: origin.pos.line, column: origin.pos.column, text: sourceLines?.[origin.pos.line - 1]?.trim() ?? '' };
    }
    const what = origin.section === 'body' ? `policy ${ir.manifest.name}` : `${target} ${input} ${origin.section}`;
    return { slot: origin.slot, line: 0, column: 0, text: `<syrup ${what}>` };
  });

  return Object.freeze({
    name: kernelName(ir.manifest.name),
    target,
    input,
    fileName: ir.fileName,
    programType: info.programType,
    programTypeNumber: PROGRAM_TYPE_NUMBERS[info.programType],
    expectedAttachType: info.attach,
    expectedAttachTypeNumber: ATTACH_TYPE_NUMBERS[info.attach],
    license: 'Dual BSD/GPL',
    instructions,
    slotCount,
    maps: programMaps(ir, info, options.maxExecutors),
    stackSize: layout.size,
    origins,
    btf: buildProgramBtf({ functionName: kernelName(ir.manifest.name), fileName: ir.fileName, anchors }),
  } satisfies ProgramSpec);
}

function checkOptions(target: CodegenTarget, input: InputKind, options: { port?: number; maxExecutors?: number }): void {
  if (options.port !== undefined) {
    if (target === 'socket-select' || input !== 'udp') {
      throw new CodegenError('CODEGEN_INVALID_OPTION', `a port filter applies to udp inputs at XDP hooks, not to ${input} inputs at ${target}.`);
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
  if (fields.has('hash')) for (const f of ['srcAddr', 'dstAddr', 'srcPort', 'dstPort'] as const) fields.add(f);
  // Reads of a UDP payload are bounded by its length.
  if (loads && input === 'udp') fields.add('payloadLength');
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
    const lengthSlot = slots.get('payloadLength');
    const length = lengthSlot === undefined ? {} : { lengthSlot };
    access =
      target === 'socket-select'
        ? {
            mode: 'direct-or-helper',
            baseSlot,
            displacement: 8,
            endSlot,
            ...length,
            ctxSlot: ctx,
            bufferSlot: layout.reserve('load buffer', 8),
            saveSlot: layout.reserve('saved r1-r4', 32),
          }
        : { mode: 'direct', baseSlot, displacement: 0, endSlot, ...length };
  }
  const needsBuffer = target === 'socket-select' && (fields.has('srcAddr') || fields.has('dstAddr'));
  const buffer = needsBuffer ? layout.reserve('address buffer', 32) : undefined;
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

function programMaps(ir: PolicyIr, info: TargetInfo, maxExecutors: number | undefined): ProgramMapSpec[] {
  const maps: ProgramMapSpec[] = Object.entries(ir.manifest.maps).map(([name, spec]) => {
    const type = DATA_MAP_TYPES[spec.kind];
    return { name, role: 'data', type, mapType: MAP_TYPE_NUMBERS[type], keySize: 4, valueSize: 8, maxEntries: spec.maxEntries, dataSpec: spec };
  });
  const system = info.systemMap;
  maps.push({
    name: system.name,
    role: system.role,
    type: system.type,
    mapType: MAP_TYPE_NUMBERS[system.type],
    keySize: 4,
    valueSize: system.valueSize,
    maxEntries: system.role === 'executors' ? (maxExecutors ?? system.maxEntries) : system.maxEntries,
  });
  return maps;
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
