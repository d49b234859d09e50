import type { AsmItem, SourceLocation } from '../asm/index.js';
import type { Fd } from '../fd.js';
import type { RecordArray } from '../syscalls/syscalls.js';

/** Anything that owns a map fd: an `Fd`, a `KernelMap`, a system map. */
export type MapReference = Fd | { readonly fd: Fd };

/** The fds of the maps a program's LD_IMM64 instructions name: a table or a function. */
export type ProgramMapResolver = ReadonlyMap<string, MapReference> | ((name: string) => MapReference | undefined);

/** BTF to pass with the load: the blob and the records that point into it. */
export interface ProgramLoadBtf {
  readonly blob: Uint8Array;
  /** `struct bpf_line_info` records (16 bytes each; `insn_off` counts slots, the first is 0). */
  readonly lineInfo?: RecordArray;
  /** `struct bpf_func_info` records; optional for a program of one function. */
  readonly funcInfo?: RecordArray;
}

/**
 * Everything needed to load one program, and nothing kernel-dependent except the map
 * resolver (cilium/ebpf's ProgramSpec): a pure description until `Program.load` turns it into
 * a live object.
 */
export interface ProgramLoadSpec {
  /** Object name; sanitized to the kernel's 15 characters of `[A-Za-z0-9_.]`. */
  readonly name: string;
  /** A `ProgType`. */
  readonly type: number;
  /** An `AttachType`; needed by XDP programs meant for a CPU map (XDP_CPUMAP) and by SK_REUSEPORT migration. */
  readonly expectedAttachType?: number;
  /** `GPL` or `Dual BSD/GPL` keeps every helper available. */
  readonly license: string;
  /** Instructions with labels and symbolic maps, or already encoded bytes (8 per slot). */
  readonly instructions: readonly AsmItem[] | Uint8Array;
  /** Fds for the maps the instructions reference by name. */
  readonly maps?: ProgramMapResolver;
  readonly btf?: ProgramLoadBtf;
  /**
   * The policy source of an instruction slot, for verifier errors, when neither the
   * instructions (`Instruction.source`) nor BTF line info say (code generators keep their own table).
   */
  readonly sourceOfSlot?: (slot: number) => SourceLocation | undefined;
  /** `BPF_F_*` program flags. */
  readonly flags?: number;
}
