import { Mov, R0, R1, R3, call, exit, loadMapPtr } from '../../asm/index.js';
import { POLICY_BODY_HELPERS, verdictEpilogue, type CodegenTarget, type TargetPrologueContext, type TargetSystemMap } from '../codegen-target.js';
import { SYSTEM_MAP_NAMES, XDP_DROP, XDP_PASS } from '../epilogues.js';
import { ATTACH_TYPE_NUMBERS, MAP_TYPE_NUMBERS, PROGRAM_TYPE_NUMBERS } from '../program-spec.js';
import { emitXdpPacketPrologue, emitXdpUdpPrologue } from '../prologues/xdp.js';

/**
 * The XDP prologue of the policy's input kind: `udp` parses Ethernet, IPv4/IPv6 and UDP (and
 * filters on `port` when given), `packet` exposes the whole frame. Targets of other XDP
 * programs (a test harness, an offload target) reuse it as it is.
 */
export function emitXdpPrologue(context: TargetPrologueContext): void {
  const { emitter, input, frame, passLabel, port } = context;
  if (input === 'udp') emitXdpUdpPrologue(emitter, frame, passLabel, port === undefined ? {} : { port });
  else emitXdpPacketPrologue(emitter, frame);
}

/** The program type, attach type, inputs and loads every XDP target here shares. */
export const XDP_PROGRAM = Object.freeze({
  programType: { name: 'xdp', number: PROGRAM_TYPE_NUMBERS.xdp },
  expectedAttachType: { name: 'xdp', number: ATTACH_TYPE_NUMBERS.xdp },
  inputs: ['udp', 'packet'],
  portFilter: true,
  region: { mode: 'direct', displacement: 0 },
  prologue: emitXdpPrologue,
} as const);

/**
 * An XDP hook whose executor k is entry k of a redirect map: `bpf_redirect_map(&executors, k,
 * XDP_PASS)`, whose miss answers XDP_PASS. PASS is XDP_PASS, DROP is XDP_DROP.
 */
function redirectTarget(id: string, executors: TargetSystemMap): CodegenTarget {
  return Object.freeze<CodegenTarget>({
    ...XDP_PROGRAM,
    id,
    systemMap: executors,
    epilogue: verdictEpilogue({
      executorKeys: 'u32',
      executor: ({ emitter }) => emitter.emit(loadMapPtr(R1, SYSTEM_MAP_NAMES.executors), Mov.imm(R3, XDP_PASS), call('redirect_map'), exit()),
      pass: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_PASS), exit()),
      drop: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_DROP), exit()),
    }),
    allows: { helpers: [...POLICY_BODY_HELPERS, 'redirect_map'], fetchAtomics: true },
  });
}

/** XSKMAP: AF_XDP socket fds. */
const XSK_EXECUTORS: TargetSystemMap = Object.freeze({
  name: SYSTEM_MAP_NAMES.executors,
  role: 'executors',
  type: { name: 'xskmap', number: MAP_TYPE_NUMBERS.xskmap },
  valueSize: 4,
  maxEntries: 64,
});

/** xdp-skb: generic XDP; executor k is the AF_XDP socket at key k. */
export const XDP_SKB_TARGET = redirectTarget('xdp-skb', XSK_EXECUTORS);
/** xdp-drv: XDP in the driver; executors as xdp-skb. */
export const XDP_DRV_TARGET = redirectTarget('xdp-drv', XSK_EXECUTORS);
/** cpu-redirect: executor k is CPU k of a CPUMAP, whose values are `struct bpf_cpumap_val` (qsize, prog fd). */
export const CPU_REDIRECT_TARGET = redirectTarget(
  'cpu-redirect',
  Object.freeze({ name: SYSTEM_MAP_NAMES.executors, role: 'executors', type: { name: 'cpumap', number: MAP_TYPE_NUMBERS.cpumap }, valueSize: 8, maxEntries: 128 }),
);
