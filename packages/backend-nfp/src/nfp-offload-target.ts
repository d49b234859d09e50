import { JGT, Add, Mov, R0, R1, exit, loadMem, storeMem } from '@syrup/backend-ebpf/asm';
import {
  POLICY_BODY_HELPERS,
  VERDICT_LABELS,
  XDP_DROP,
  XDP_MD,
  XDP_PASS,
  XDP_PROGRAM,
  XDP_TEST_HARNESS_TARGET,
  FP,
  emitXdpPacketPrologue,
  emitXdpUdpPrologue,
  verdictEpilogue,
  type CodegenTarget,
  type TargetLowering,
  type TargetPrologueContext,
} from '@syrup/backend-ebpf/codegen';
import { AGILIO_DEFAULT_PROFILE, type NfpFirmwareProfile } from './nfp-firmware-profile.js';
import { nfpInstructionRule } from './nfp-instruction-rule.js';

/**
 * What the NFP JIT cannot run as one instruction, lowered by backend-ebpf's code generator:
 * 64-bit products as 32x32-bit partial products, `/` and `%` by constants in 32-bit steps (a
 * power of two as a shift or an AND), no immediate stores, no stores into map values (an
 * array's set through map_update_elem, a fetchAdd whose answer is unused as an atomic add).
 */
export const NFP_LOWERING: TargetLowering = Object.freeze({ arithmetic: 'u32-operands', immediateStores: false, mapValueStores: false });

/** The highest queue id the JIT keeps: it stores the low byte and turns larger values into an invalid-queue marker. */
export const NFP_MAX_QUEUE = 255;

export interface NfpTargetOptions {
  readonly profile?: NfpFirmwareProfile;
  /** The NIC queue of executor 0 (the target's `queue`); executor k is queue firstQueue + k. */
  readonly firstQueue?: number;
}

/** The XDP prologues, with the flow hash's products lowered for the NFP. */
function nfpPrologue(context: TargetPrologueContext): void {
  const { emitter, input, frame, passLabel, port } = context;
  if (input === 'udp') emitXdpUdpPrologue(emitter, frame, passLabel, { arithmetic: 'u32-operands', ...(port === undefined ? {} : { port }) });
  else emitXdpPacketPrologue(emitter, frame);
}

/** The helpers a policy body calls that `profile` offers. */
function offeredHelpers(profile: NfpFirmwareProfile): CodegenTarget['allows']['helpers'] {
  return POLICY_BODY_HELPERS.filter((helper) => profile.helpers.includes(helper));
}

/**
 * The `xdp-offload` code generation target: an XDP program for the NIC. Executor k stores
 * `firstQueue + k` to `xdp_md->rx_queue_index` (a 4-byte store from a register, the only
 * context write the kernel lets an offloaded program make) and returns XDP_PASS, so the
 * firmware steers the frame to that RX queue instead of its RSS choice; a key that would name
 * a queue above 255 answers PASS. PASS is XDP_PASS (RSS decides), DROP is XDP_DROP.
 */
export function nfpOffloadTarget(options: NfpTargetOptions = {}): CodegenTarget {
  const profile = options.profile ?? AGILIO_DEFAULT_PROFILE;
  const firstQueue = options.firstQueue ?? 0;
  if (!Number.isInteger(firstQueue) || firstQueue < 0 || firstQueue > NFP_MAX_QUEUE) {
    throw new RangeError(`the first queue ${String(firstQueue)} is not between 0 and ${NFP_MAX_QUEUE}`);
  }
  return Object.freeze<CodegenTarget>({
    ...XDP_PROGRAM,
    id: 'xdp-offload',
    prologue: nfpPrologue,
    epilogue: verdictEpilogue({
      executorKeys: 'u32',
      executor: ({ emitter, frame, key }) => {
        emitter.emit(JGT.imm(key, NFP_MAX_QUEUE - firstQueue, VERDICT_LABELS.pass));
        if (firstQueue > 0) emitter.emit(Add.imm(key, firstQueue));
        emitter.emit(loadMem(R1, FP, frame.ctx, 'DW'), storeMem(R1, XDP_MD.rxQueueIndex, key, 'W'), Mov.imm(R0, XDP_PASS), exit());
      },
      pass: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_PASS), exit()),
      drop: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_DROP), exit()),
    }),
    allows: { helpers: offeredHelpers(profile), fetchAtomics: false, instruction: nfpInstructionRule },
    lowering: NFP_LOWERING,
  });
}

/**
 * The NFP-lowered program with the queue store swapped for the XDP test harness's ending
 * (the decision written into the `.result` array, XDP_PASS returned), so BPF_PROG_TEST_RUN on
 * the host can compare the NIC's code with the evaluator: same prologue, same body, same
 * lowering and allowances.
 */
export function nfpTestHarnessTarget(options: NfpTargetOptions = {}): CodegenTarget {
  const target = nfpOffloadTarget(options);
  return Object.freeze<CodegenTarget>({
    ...target,
    id: 'xdp-offload-test-harness',
    systemMap: XDP_TEST_HARNESS_TARGET.systemMap!,
    epilogue: XDP_TEST_HARNESS_TARGET.epilogue,
  });
}
