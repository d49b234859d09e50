import { Add, Mov, R0, R1, R2, R3, R4, call, exit, loadMapPtr, loadMem, storeMem } from '../../asm/index.js';
import { POLICY_BODY_HELPERS, verdictEpilogue, type CodegenTarget } from '../codegen-target.js';
import { SK_DROP, SK_PASS, SYSTEM_MAP_NAMES } from '../epilogues.js';
import { FP } from '../operands.js';
import { SOCKET_SELECT_LOCATIONS, readsAddresses } from '../input-locations.js';
import { ATTACH_TYPE_NUMBERS, MAP_TYPE_NUMBERS, PROGRAM_TYPE_NUMBERS } from '../program-spec.js';
import { emitSocketSelectPrologue } from '../prologues/socket-select.js';

/**
 * socket-select (BPF_PROG_TYPE_SK_REUSEPORT): executor k is the socket at key k of a
 * REUSEPORT_SOCKARRAY, which takes a socket fd as u64 and reads back its cookie.
 * - executor: `sk_select_reuseport(ctx, &executors, &k, 0)` then SK_PASS; if no socket is at k
 *   the kernel's hash fallback picks one, exactly as PASS.
 * - PASS is SK_PASS without a selection, DROP is SK_DROP.
 * Loads read the payload after the UDP header directly, and through `skb_load_bytes` past the
 * skb's linear part; addresses come from the network header through a 32-byte buffer.
 */
export const SOCKET_SELECT_TARGET: CodegenTarget = Object.freeze<CodegenTarget>({
  id: 'socket-select',
  programType: { name: 'sk_reuseport', number: PROGRAM_TYPE_NUMBERS.sk_reuseport },
  expectedAttachType: { name: 'sk_reuseport_select', number: ATTACH_TYPE_NUMBERS.sk_reuseport_select },
  inputs: ['udp', 'tcp'],
  portFilter: false,
  region: { mode: 'direct-or-helper', displacement: 8 },
  scratchBytes: (fields) => (readsAddresses(fields, SOCKET_SELECT_LOCATIONS) ? 32 : 0),
  systemMap: {
    name: SYSTEM_MAP_NAMES.executors,
    role: 'executors',
    type: { name: 'reuseport_sockarray', number: MAP_TYPE_NUMBERS.reuseport_sockarray },
    valueSize: 8,
    maxEntries: 128,
  },
  prologue: ({ emitter, input, frame, passLabel }) => emitSocketSelectPrologue(emitter, input as 'udp' | 'tcp', frame, passLabel),
  epilogue: verdictEpilogue({
    executorKeys: 'u32',
    executor: ({ emitter: e, frame, key }) => {
      e.emit(storeMem(FP, frame.mapSlots.key, key, 'W'), loadMem(R1, FP, frame.ctx, 'DW'));
      e.emit(loadMapPtr(R2, SYSTEM_MAP_NAMES.executors), Mov.reg(R3, FP), Add.imm(R3, frame.mapSlots.key), Mov.imm(R4, 0));
      e.emit(call('sk_select_reuseport'), Mov.imm(R0, SK_PASS), exit());
    },
    pass: ({ emitter }) => emitter.emit(Mov.imm(R0, SK_PASS), exit()),
    drop: ({ emitter }) => emitter.emit(Mov.imm(R0, SK_DROP), exit()),
  }),
  allows: { helpers: [...POLICY_BODY_HELPERS, 'skb_load_bytes', 'skb_load_bytes_relative', 'sk_select_reuseport'], fetchAtomics: true },
});
