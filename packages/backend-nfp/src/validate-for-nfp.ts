import type { PolicyIr, IrInsn, Operand } from '@syrup/core';
import { Instruction } from '@syrup/backend-ebpf/asm';
import { CodegenError, computeLiveness, generateProgram, insnDef, normalizeIr, type ProgramSpec } from '@syrup/backend-ebpf/codegen';
import { AGILIO_DEFAULT_PROFILE, type NfpFirmwareProfile } from './nfp-firmware-profile.js';
import { nfpInstructionRule } from './nfp-instruction-rule.js';
import { nfpOffloadTarget, type NfpTargetOptions } from './nfp-offload-target.js';
import type { NfpViolation } from './nfp-violation.js';

/**
 * The bytes in front of a UDP payload in the longest frame the XDP prologue parses: Ethernet,
 * one VLAN tag, IPv4 with 40 bytes of options, UDP. A payload read at offset k reaches byte
 * 86 + k + size of the frame at most.
 */
export const UDP_PAYLOAD_MAX_START = 14 + 4 + 60 + 8;

export interface NfpValidateOptions extends NfpTargetOptions {
  /** The XDP port filter of a `udp` policy, as the hook would compile it. */
  readonly port?: number;
  /** The policy's source text, for line info in the generated program. */
  readonly sourceText?: string;
}

/** What the validator found: every violation in policy order and, when there is none, the NIC's program. */
export interface NfpValidation {
  readonly profile: NfpFirmwareProfile;
  readonly violations: readonly NfpViolation[];
  readonly spec?: ProgramSpec;
}

const S31 = 1n << 31n;

/**
 * Checks a policy against the NFP capability model before anything is loaded, on any machine:
 * first the policy-level rules, each violation at its line (no clock, no CPU index, only the
 * profile's helpers, no atomics that return the old value, a map value either read or
 * atomically added and counters created only as 0, `/` and `%` only by constants with a legal
 * equivalent, packet reads within the firmware's packet split, array and hash maps only, RX
 * queue selection offered); then, when there is none, it generates the program for the NIC
 * (backend-ebpf's code generator with the NFP lowering) and checks every instruction against
 * the JIT's whitelist and the profile's stack.
 */
export function validateForNfp(ir: PolicyIr, options: NfpValidateOptions = {}): NfpValidation {
  const profile = options.profile ?? AGILIO_DEFAULT_PROFILE;
  const violations = policyViolations(ir, profile);
  if (violations.length > 0) return { profile, violations };

  let spec: ProgramSpec;
  try {
    spec = generateProgram(ir, {
      target: nfpOffloadTarget(options),
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.sourceText === undefined ? {} : { sourceText: options.sourceText }),
    });
  } catch (error) {
    if (!(error instanceof CodegenError)) throw error;
    const at = error.location ?? { file: ir.fileName, line: 1, column: 1 };
    return { profile, violations: [{ file: at.file, line: at.line, column: at.column, reason: error.message }] };
  }
  const found: NfpViolation[] = [];
  for (const item of spec.instructions) {
    if (!(item instanceof Instruction)) continue;
    const what = nfpInstructionRule(item);
    if (what === undefined) continue;
    const at = item.source ?? { file: ir.fileName, line: 1, column: 1 };
    found.push({ file: at.file, line: at.line, column: at.column, reason: `the program for the NIC would contain ${what}, which the NFP JIT refuses.` });
  }
  if (spec.stackSize > profile.stackBytes) {
    found.push({
      file: ir.fileName,
      line: 1,
      column: 1,
      reason: `the program for the NIC needs ${spec.stackSize} bytes of stack; firmware profile '${profile.name}' offers ${profile.stackBytes}.`,
    });
  }
  return found.length > 0 ? { profile, violations: found } : { profile, violations: [], spec };
}

interface Use {
  readonly insn: IrInsn;
}

/** The policy-level rules, over the instructions the code generator would compile. */
function policyViolations(ir: PolicyIr, profile: NfpFirmwareProfile): NfpViolation[] {
  const normalized = normalizeIr(ir);
  const insns = normalized.insns;
  const liveness = computeLiveness(insns, normalized.registerCount);
  const out: NfpViolation[] = [];
  const at = (insn: IrInsn | undefined, reason: string): void => {
    out.push({ file: ir.fileName, line: insn?.pos?.line ?? 1, column: insn?.pos?.column ?? 1, reason });
  };
  const reads = new Map<string, Use[]>();
  const adds = new Map<string, Use[]>();
  const sets = new Map<string, Use[]>();
  const firstUse = new Map<string, IrInsn>();
  const note = (table: Map<string, Use[]>, map: string, insn: IrInsn): void => {
    table.set(map, [...(table.get(map) ?? []), { insn }]);
  };

  insns.forEach((insn, index) => {
    if ('map' in insn && !firstUse.has(insn.map)) firstUse.set(insn.map, insn);
    switch (insn.op) {
      case 'helper':
        if (insn.helper === 'now') at(insn, 'now() reads a clock, and the NIC has none (no bpf_ktime_get_ns on the NFP).');
        else if (insn.helper === 'cpu') at(insn, 'cpu() names the host CPU running the policy, and on the NIC none does (no bpf_get_smp_processor_id on the NFP).');
        else if (!profile.helpers.includes('get_prandom_u32')) at(insn, `random() needs bpf_get_prandom_u32, which firmware profile '${profile.name}' does not offer.`);
        return;
      case 'map-cmpxchg':
        at(insn, `compareExchange() on map '${insn.map}' needs an atomic that returns the old value; the NFP has only an atomic add that returns nothing.`);
        return;
      case 'map-fetch-add': {
        const used = liveness.liveOut[index]!.has(insnDef(insn)!);
        if (used) {
          at(insn, `the answer of fetchAdd() on map '${insn.map}' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement).`);
        } else {
          note(adds, insn.map, insn);
        }
        return;
      }
      case 'map-get':
        note(reads, insn.map, insn);
        return;
      case 'map-set':
        if (insn.value !== 0n) note(sets, insn.map, insn);
        return;
      case 'binary':
        if (insn.kind === 'div' || insn.kind === 'mod') divisorViolation(insn.kind, insn.b, (reason) => at(insn, reason));
        return;
      case 'load':
        loadViolation(insn, profile, (reason) => at(insn, reason));
        return;
      case 'return':
        if (insn.verdict === 'executor' && !profile.queueSelect) at(insn, `returning a queue needs RX queue selection, which firmware profile '${profile.name}' does not offer.`);
        return;
      default:
        return;
    }
  });

  for (const [name, spec] of Object.entries(ir.manifest.maps)) {
    if (!(profile.mapKinds as readonly string[]).includes(spec.kind)) {
      at(firstUse.get(name), `map '${name}' is of kind ${spec.kind}; only ${profile.mapKinds.join(' and ')} maps live on the NIC.`);
    }
    const added = adds.get(name);
    if (added === undefined) continue;
    const first = added[0]!.insn.pos;
    const where = first === undefined ? '' : ` at line ${first.line}`;
    for (const { insn } of reads.get(name) ?? []) {
      at(insn, `map '${name}' is read here and atomically added${where}; on the NFP a map value is either read or atomically added, never both.`);
    }
    for (const { insn } of sets.get(name) ?? []) {
      at(insn, `map '${name}' is set here to a value that may not be 0 and atomically added${where}; the NFP lets a program initialise an atomic counter only to 0.`);
    }
  }
  // Inlined helpers and unrolled loops repeat a construct at one position: report it once.
  const unique = new Map(out.map((v) => [`${v.line}:${v.column}:${v.reason}`, v]));
  return [...unique.values()].sort((a, b) => a.line - b.line || a.column - b.column);
}

function divisorViolation(kind: 'div' | 'mod', divisor: Operand, report: (reason: string) => void): void {
  const sign = kind === 'div' ? '/' : '%';
  if (typeof divisor !== 'bigint') {
    report(
      kind === 'div'
        ? "'/' by a value known only at run time: the NFP divides only by constants."
        : "'%' by a value known only at run time: the NFP has no remainder instruction, and only a constant divisor has an equivalent.",
    );
    return;
  }
  if (divisor >= S31 && (divisor & (divisor - 1n)) !== 0n) {
    report(`'${sign}' by the constant ${String(divisor)}: the NFP divides only by constants below 2^31 (or by powers of two).`);
  }
}

function loadViolation(insn: Extract<IrInsn, { op: 'load' }>, profile: NfpFirmwareProfile, report: (reason: string) => void): void {
  const what = insn.region === 'payload' ? 'the payload' : 'the frame';
  if (typeof insn.offset !== 'bigint') {
    report(`reads ${what} at an offset known only at run time; the NFP needs every packet read proven within its packet split of ${profile.packetReach} bytes.`);
    return;
  }
  const start = insn.region === 'payload' ? UDP_PAYLOAD_MAX_START : 0;
  const reach = BigInt(start) + insn.offset + BigInt(insn.size);
  if (reach > BigInt(profile.packetReach)) {
    const longest = insn.region === 'payload' ? ' (after the longest headers)' : '';
    report(`reads up to byte ${String(reach)} of the frame${longest}, beyond the packet split of firmware profile '${profile.name}' at ${profile.packetReach} bytes.`);
  }
}
