import type { DataMapSpec } from '@syrup/maps';
import type { InputKind, SourcePosition } from '@syrup/core';
import type { AsmItem, SourceLocation } from '../asm/index.js';
import type { GeneratedBtf } from '../btf/line-info.js';

/** The kernel program types the built-in targets emit, by their `BPF_PROG_TYPE_*` suffix. */
export type ProgramType = 'xdp' | 'sk_reuseport';

/** `enum bpf_prog_type` values of {@link ProgramType}. */
export const PROGRAM_TYPE_NUMBERS: Readonly<Record<ProgramType, number>> = Object.freeze({
  xdp: 6,
  sk_reuseport: 21,
});

/** The expected attach types the built-in targets set, by their `BPF_*` suffix. */
export type ExpectedAttachType = 'xdp' | 'sk_reuseport_select';

/** `enum bpf_attach_type` values of {@link ExpectedAttachType}. */
export const ATTACH_TYPE_NUMBERS: Readonly<Record<ExpectedAttachType, number>> = Object.freeze({
  xdp: 37,
  sk_reuseport_select: 39,
});

/** The kernel map types the generator and the built-in targets reference, by their `BPF_MAP_TYPE_*` suffix. */
export type ProgramMapType = 'array' | 'hash' | 'percpu_array' | 'lru_hash' | 'reuseport_sockarray' | 'xskmap' | 'cpumap';

/** `enum bpf_map_type` values of {@link ProgramMapType}. */
export const MAP_TYPE_NUMBERS: Readonly<Record<ProgramMapType, number>> = Object.freeze({
  hash: 1,
  array: 2,
  percpu_array: 6,
  lru_hash: 9,
  cpumap: 16,
  xskmap: 17,
  reuseport_sockarray: 20,
});

/**
 * Why a program references a map: the policy's own data map, the executors a decision selects
 * (sockets, AF_XDP sockets or CPUs), or the test harness's result map.
 */
export type ProgramMapRole = 'data' | 'executors' | 'result';

/**
 * A map the program references by symbolic name. The loader creates one kernel map per entry
 * (or reuses a shared one with the same shape) and binds its fd to `name` when it assembles:
 * `assemble(spec.instructions, { maps: new Map([[name, fd.raw], ...]) })`.
 */
export interface ProgramMapSpec {
  /**
   * The name `loadMapPtr` used. Data maps keep the policy's map name (an identifier); system
   * maps start with a dot (`.executors`, `.result`), so they can never clash with a policy's.
   */
  readonly name: string;
  readonly role: ProgramMapRole;
  /** `BPF_MAP_TYPE_*` suffix: a {@link ProgramMapType}, or a target's own system map type. */
  readonly type: string;
  /** `BPF_MAP_TYPE_*` number of `type`. */
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  /**
   * Entries. For data maps it is the declaration's; for executors it is a default the loader
   * may change (the code does not depend on it: a key beyond the map is a miss).
   */
  readonly maxEntries: number;
  /** The declaration of a data map, as the policy wrote it. */
  readonly dataSpec?: DataMapSpec;
}

/** Which part of the program an instruction slot belongs to. */
export type SlotSection = 'prologue' | 'body' | 'epilogue';

/**
 * Where the instructions starting at `slot` came from, up to the next origin. Body slots carry
 * the IR instruction and its policy source position, so a verifier error at any slot can be
 * reported at the TypeScript line even without BTF.
 */
export interface SlotOrigin {
  readonly slot: number;
  readonly section: SlotSection;
  /** Index into the IR's `insns` of the instruction these slots implement. */
  readonly irIndex?: number;
  readonly pos?: SourcePosition;
}

/**
 * A complete, pure description of one eBPF program: everything the loader needs to create its
 * maps, encode it, load it with line info and map errors back to policy source. Building one
 * touches no kernel object.
 */
export interface ProgramSpec {
  /** Kernel object name: at most 15 characters of `[A-Za-z0-9_]`. */
  readonly name: string;
  /** The `id` of the `CodegenTarget` it was built for (a hook id, `xdp-test-harness`...). */
  readonly target: string;
  readonly input: InputKind;
  /** The policy module's file name, as the IR gives it. */
  readonly fileName: string;
  /** `BPF_PROG_TYPE_*` suffix in lower case (`xdp`, `sk_reuseport`). */
  readonly programType: string;
  /** `BPF_PROG_TYPE_*` number of `programType`. */
  readonly programTypeNumber: number;
  /** `BPF_*` attach type suffix, when the target loads with one. */
  readonly expectedAttachType?: string;
  /** `BPF_*` attach type number of `expectedAttachType`, for `expected_attach_type`. */
  readonly expectedAttachTypeNumber?: number;
  /** GPL-compatible as the kernel counts it; no helper used needs it, but it keeps all available. */
  readonly license: 'Dual BSD/GPL';
  /** Instructions with symbolic labels and map names; `assemble` resolves both. */
  readonly instructions: readonly AsmItem[];
  /** Instruction slots after assembly (LD_IMM64 counts two). */
  readonly slotCount: number;
  readonly maps: readonly ProgramMapSpec[];
  /** Bytes of stack the program uses below the frame pointer (at most 512). */
  readonly stackSize: number;
  /** Origins by ascending slot; the first one is at slot 0. */
  readonly origins: readonly SlotOrigin[];
  /** BTF blob, line info and func info to pass with `BPF_PROG_LOAD`. */
  readonly btf: GeneratedBtf;
}

/** The origin covering `slot`: the last origin at or before it. */
export function originOfSlot(spec: Pick<ProgramSpec, 'origins'>, slot: number): SlotOrigin | undefined {
  let low = 0;
  let high = spec.origins.length - 1;
  let found: SlotOrigin | undefined;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const origin = spec.origins[mid];
    if (origin === undefined) break;
    if (origin.slot <= slot) {
      found = origin;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/**
 * The policy source of `slot`, from the generator's own table: undefined for prologue and
 * epilogue code and for body instructions the IR gave no position. Works without BTF.
 */
export function sourceOfSlot(spec: Pick<ProgramSpec, 'origins'> & { readonly fileName: string }, slot: number): SourceLocation | undefined {
  const pos = originOfSlot(spec, slot)?.pos;
  return pos === undefined ? undefined : { file: spec.fileName, line: pos.line, column: pos.column };
}
