import type { InputKind } from '@syrup/core';
import { JNE, Mov, R5, RSh, type HelperName, type Instruction, type Register } from '../asm/index.js';
import type { Emitter } from './emitter.js';
import { EXECUTOR_KEY, VERDICT_LABELS } from './epilogues.js';
import type { Frame } from './frame.js';

/**
 * Where a generated program runs, as data: the generator (`generateProgram`) wraps the policy
 * body between a target's prologue and epilogue and checks the result against what the target
 * allows. The built-in hooks are targets like any other (see `targets/`); a package built on
 * this one (an offload backend, a new hook) defines its own without editing the generator.
 *
 * The contract between the generator and a target:
 * - the prologue receives the context in r1 and, before the body runs, stores it in
 *   `frame.ctx` and every input field the body reads in its `frame.fields` slot (as a u64);
 *   when the body loads bytes it also fills `frame.access`'s base and end slots. Frames that
 *   cannot be parsed jump to `passLabel`. It may use r0-r9 freely: nothing is live yet.
 * - the body ends by jumping to one of `VERDICT_LABELS`, with an executor key in
 *   `EXECUTOR_KEY` (r2); the epilogue places those labels and emits each ending.
 */
export interface CodegenTarget {
  /** Names the target in `ProgramSpec.target`, BTF line text and messages: a hook id, say. */
  readonly id: string;
  /** The `BPF_PROG_TYPE_*` the program is loaded as: its suffix in lower case and its number. */
  readonly programType: KernelEnum;
  /** The `expected_attach_type` to load with, when the program type needs one. */
  readonly expectedAttachType?: KernelEnum;
  /** The input kinds the prologue parses; a policy of another kind is refused. */
  readonly inputs: readonly InputKind[];
  /** True when a `port` option applies to `udp` inputs (the prologue then passes other ports). */
  readonly portFilter: boolean;
  /** How the body's loads reach the policy's bytes; see `RegionAccess` in region-access.ts. */
  readonly region: TargetRegion;
  /** Bytes of scratch stack the prologue needs, given the fields the body reads (`frame.buffer`). */
  readonly scratchBytes?: (fields: ReadonlySet<string>) => number;
  /** The one system map the target's own code references, if any. */
  readonly systemMap?: TargetSystemMap;
  readonly prologue: (context: TargetPrologueContext) => void;
  /** Emits the ending of every verdict the body jumps to; `verdictEpilogue` builds one from per-verdict endings. */
  readonly epilogue: (context: TargetEpilogueContext) => void;
  /** What the finished program may contain; anything else is refused with `CODEGEN_NOT_ALLOWED`. */
  readonly allows: TargetAllowances;
  /** How operations a device cannot run as one instruction are lowered; absent: `NATIVE_LOWERING`. */
  readonly lowering?: TargetLowering;
}

/**
 * How the generator lowers operations some devices cannot run as one eBPF instruction (a
 * SmartNIC's JIT, say). Every choice keeps the IR's semantics bit for bit; only the
 * instructions differ.
 */
export interface TargetLowering {
  /**
   * `native`: every 64-bit ALU operation is one instruction. `u32-operands`: for a JIT whose
   * multiplier and divider take operands the verifier proves are at most 2^32-1 and whose
   * divisor is a constant: a 64-bit `*` becomes three 32x32-bit partial products; `/` and `%`
   * by a power of two become a shift and an AND; `/` and `%` by another constant below 2^31
   * become long division over 32-bit steps (divide, multiply, subtract); `/` and `%` by a value
   * known only at run time, or by another constant of 2^31 or more, are refused with
   * `CODEGEN_NOT_ALLOWED` at the policy's line.
   */
  readonly arithmetic: 'native' | 'u32-operands';
  /** False: constants are stored through r0 (`BPF_STX`), never as a `BPF_ST` immediate store. */
  readonly immediateStores: boolean;
  /**
   * False: the program never stores into a map value: an array's `set` goes through
   * `bpf_map_update_elem`, and a `fetchAdd` whose answer nothing reads becomes a plain atomic
   * add (one whose answer is read still needs `allows.fetchAtomics`).
   */
  readonly mapValueStores: boolean;
}

/** The host kernel's lowering: every operation as one instruction. */
export const NATIVE_LOWERING: TargetLowering = Object.freeze({ arithmetic: 'native', immediateStores: true, mapValueStores: true });

/** A value of one of the kernel's enums, by its lower-case suffix (`xdp`, `sk_reuseport`) and number. */
export interface KernelEnum {
  readonly name: string;
  readonly number: number;
}

/**
 * `direct`: only packet memory up to data_end is readable (XDP). `direct-or-helper`: reads past
 * the linear part fall back to `bpf_skb_load_bytes` (an skb's linear head). `displacement` is
 * the bytes from the pointer the prologue leaves in the base slot to byte 0 of the region.
 */
export interface TargetRegion {
  readonly mode: 'direct' | 'direct-or-helper';
  readonly displacement: number;
}

/**
 * The map a target's prologue or epilogue references by `name` (`SYSTEM_MAP_NAMES`): the
 * executors a decision selects, or a result map. u32 keys; the loader creates it.
 */
export interface TargetSystemMap {
  readonly name: string;
  readonly role: 'executors' | 'result';
  /** `BPF_MAP_TYPE_*`: lower-case suffix and number. */
  readonly type: KernelEnum;
  readonly valueSize: number;
  /** Entries; for executors a default that `maxExecutors` overrides. */
  readonly maxEntries: number;
}

export interface TargetPrologueContext {
  readonly emitter: Emitter;
  readonly input: InputKind;
  readonly frame: Frame;
  /** Where a frame the policy must not see goes: the PASS ending. */
  readonly passLabel: string;
  /** The destination port filter of a `udp` input, when the caller asked for one. */
  readonly port?: number;
}

export interface TargetEpilogueContext {
  readonly emitter: Emitter;
  readonly frame: Frame;
}

/** Per-verdict endings for {@link verdictEpilogue}; each runs after its label and must end in `exit`. */
export interface VerdictEndings {
  /**
   * Which executor keys reach `executor`: `u32` sends keys of 2^32 or more to PASS first (the
   * hooks' maps take u32 keys), `u64` hands every key over as it is.
   */
  readonly executorKeys: 'u32' | 'u64';
  /** The executor decision, with the key in `key` (r2). */
  readonly executor: (context: TargetEpilogueContext & { readonly key: Register }) => void;
  readonly pass: (context: TargetEpilogueContext) => void;
  readonly drop: (context: TargetEpilogueContext) => void;
}

/**
 * What a target lets a program contain. The generator checks the finished program, prologue
 * and epilogue included, so a policy that needs more is refused before any kernel sees it.
 */
export interface TargetAllowances {
  /** Kernel helpers the program may call. */
  readonly helpers: readonly HelperName[];
  /**
   * Atomic instructions that return the old value (fetch-add, xchg, cmpxchg), which the
   * policy's `fetchAdd` and `compareExchange` compile to. Plain atomic adds are always allowed.
   */
  readonly fetchAtomics: boolean;
  /**
   * A further rule over every instruction, for what a device cannot run (a division, a kind
   * of jump): returns what the instruction is, for the sentence (`a 64-bit division`), or
   * undefined when it is allowed.
   */
  readonly instruction?: (instruction: Instruction) => string | undefined;
}

/** Helpers the policy body calls: map operations and `random`, `now`, `cpu`. */
export const POLICY_BODY_HELPERS: readonly HelperName[] = Object.freeze([
  'map_lookup_elem',
  'map_update_elem',
  'map_delete_elem',
  'get_prandom_u32',
  'ktime_get_ns',
  'get_smp_processor_id',
]);

/**
 * An epilogue made of one ending per verdict: places the labels of the verdicts the body
 * jumps to (only those: the verifier rejects unreachable code) and, for `u32` executor keys,
 * the range check between `executor` and `executor32`.
 */
export function verdictEpilogue(endings: VerdictEndings): (context: TargetEpilogueContext) => void {
  return (context) => {
    const e = context.emitter;
    if (e.isReferenced(VERDICT_LABELS.executor)) {
      e.label(VERDICT_LABELS.executor);
      // r5 = key >> 32: keys the u32 maps cannot hold answer PASS.
      if (endings.executorKeys === 'u32') e.emit(Mov.reg(R5, EXECUTOR_KEY), RSh.imm(R5, 32), JNE.imm(R5, 0, VERDICT_LABELS.pass));
    }
    if (e.isReferenced(VERDICT_LABELS.executor) || e.isReferenced(VERDICT_LABELS.executor32)) {
      e.label(VERDICT_LABELS.executor32);
      endings.executor({ ...context, key: EXECUTOR_KEY });
    }
    if (e.isReferenced(VERDICT_LABELS.drop)) {
      e.label(VERDICT_LABELS.drop);
      endings.drop(context);
    }
    if (e.isReferenced(VERDICT_LABELS.pass)) {
      e.label(VERDICT_LABELS.pass);
      endings.pass(context);
    }
  };
}
