import { compilePolicy, type PolicyIr } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
// Only the package's public subpath entries: this is how another package (backend-nfp) would do it.
import { Add, AluCode, InsnClass, JGT, Mov, R0, R1, R3, R4, R5, exit, loadMem, storeMem, type Instruction } from '@syrup/backend-ebpf/asm';
import {
  CodegenError,
  FP,
  POLICY_BODY_HELPERS,
  XDP_DRV_TARGET,
  XDP_DROP,
  XDP_PASS,
  XDP_MD,
  XDP_PROGRAM,
  emitXdpPrologue,
  generateProgram,
  verdictEpilogue,
  type CodegenTarget,
} from '@syrup/backend-ebpf/codegen';
import { loadProgramSpec } from '@syrup/backend-ebpf/loader';
import { VerifierError } from '@syrup/backend-ebpf/programs';
import { udpFrame } from './kernel-support.js';

const XDP_TX = 3;

/**
 * A target defined outside the code generator, shaped like backend-nfp's `xdp-offload` (which
 * stores decision k into xdp_md->rx_queue_index and allows no fetch-returning atomics). A host
 * XDP program may not write the context, so this one writes k into the first four bytes of
 * the frame instead and bounces it (XDP_TX): BPF_PROG_TEST_RUN's output frame then shows k.
 */
const QUEUE_TAG_TARGET: CodegenTarget = {
  ...XDP_PROGRAM,
  id: 'queue-tag',
  epilogue: verdictEpilogue({
    executorKeys: 'u32',
    executor: ({ emitter: e, frame, key }) => {
      const tooShort = e.fresh('short');
      e.emit(loadMem(R1, FP, frame.ctx, 'DW'), loadMem(R3, R1, XDP_MD.data, 'W'), loadMem(R4, R1, XDP_MD.dataEnd, 'W'));
      e.emit(Mov.reg(R5, R3), Add.imm(R5, 4), JGT.reg(R5, R4, tooShort));
      e.emit(storeMem(R3, 0, key, 'W'), Mov.imm(R0, XDP_TX), exit());
      e.label(tooShort);
      e.emit(Mov.imm(R0, XDP_PASS), exit());
    },
    pass: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_PASS), exit()),
    drop: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_DROP), exit()),
  }),
  allows: { helpers: POLICY_BODY_HELPERS, fetchAtomics: false },
};

function compile(lines: readonly string[]): { ir: PolicyIr; text: string } {
  const text = lines.join('\n');
  return { ir: compilePolicy({ fileName: 'queue-tag.ts', text }).ir, text };
}

/** Queue = payload[0] % 4; an empty datagram is dropped. Uses a map, but no fetching atomic. */
const steering = compile([
  "import { definePolicy, DROP } from '@syrup/core';",
  'export default definePolicy({',
  "  name: 'queue-tag',",
  "  input: 'udp',",
  "  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },",
  '  schedule(pkt, { seen }) {',
  '    if (pkt.payload.length < 1) return DROP;',
  '    const queue = pkt.payload.u8(0) % 4;',
  '    seen.set(queue, seen.get(queue) + 1);',
  '    return queue;',
  '  },',
  '});',
]);

/** The same with a fetch-add on line 7, which the target does not allow. */
const counting = compile([
  "import { definePolicy } from '@syrup/core';",
  'export default definePolicy({',
  "  name: 'rr-count',",
  "  input: 'udp',",
  "  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },",
  '  schedule(pkt, { next }) {',
  '    return next.fetchAdd(0, 1) % 4;',
  '  },',
  '});',
]);

/**
 * backend-nfp's ending as written: k into xdp_md->rx_queue_index. Only an offloaded program may
 * write the context, so the verifier refuses it for the host: the target's code is what loads.
 */
const RX_QUEUE_TARGET: CodegenTarget = {
  ...QUEUE_TAG_TARGET,
  id: 'rx-queue',
  epilogue: verdictEpilogue({
    executorKeys: 'u32',
    executor: ({ emitter: e, frame, key }) => e.emit(loadMem(R1, FP, frame.ctx, 'DW'), storeMem(R1, XDP_MD.rxQueueIndex, key, 'W'), Mov.imm(R0, XDP_PASS), exit()),
    pass: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_PASS), exit()),
    drop: ({ emitter }) => emitter.emit(Mov.imm(R0, XDP_DROP), exit()),
  }),
};

/** An ALU instruction computing a remainder (`%`), 32 or 64 bits, register or immediate. */
function isModulo(instruction: Instruction): boolean {
  const cls = instruction.opcode & 0x07;
  return (cls === InsnClass.ALU || cls === InsnClass.ALU64) && (instruction.opcode & 0xf0) === AluCode.MOD;
}

describe('a code generation target defined outside backend-ebpf', () => {
  it('builds an XDP program with the target id, no system map and the policy map', () => {
    const spec = generateProgram(steering.ir, { target: QUEUE_TAG_TARGET, sourceText: steering.text });
    expect(spec).toMatchObject({ target: 'queue-tag', programType: 'xdp', programTypeNumber: 6, input: 'udp' });
    expect(spec.maps.map((m) => m.name)).toEqual(['seen']);
  });

  it('refuses a fetch-returning atomic at the policy line, where an ordinary XDP hook takes it', () => {
    let error: unknown;
    try {
      generateProgram(counting.ir, { target: QUEUE_TAG_TARGET });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CodegenError);
    expect(error).toMatchObject({ code: 'CODEGEN_NOT_ALLOWED', location: { file: 'queue-tag.ts', line: 7 } });
    expect((error as Error).message).toMatch(
      /^policy 'rr-count' needs an atomic operation that returns the old value \(fetchAdd or compareExchange on a map\) at queue-tag\.ts:7:\d+, which queue-tag does not allow\.$/,
    );
    expect(generateProgram(counting.ir, { target: XDP_DRV_TARGET }).target).toBe('xdp-drv');
  });

  it('refuses a helper outside the target\'s list', () => {
    const noMaps: CodegenTarget = { ...QUEUE_TAG_TARGET, id: 'no-maps', allows: { helpers: [], fetchAtomics: false } };
    expect(() => generateProgram(steering.ir, { target: noMaps })).toThrow(/needs the helper bpf_map_lookup_elem at queue-tag\.ts:9:\d+, which no-maps does not allow/);
  });

  it('applies the target\'s own instruction rule', () => {
    const noModulo: CodegenTarget = {
      ...QUEUE_TAG_TARGET,
      id: 'no-modulo',
      allows: { ...QUEUE_TAG_TARGET.allows, instruction: (insn) => (isModulo(insn) ? 'a remainder' : undefined) },
    };
    expect(() => generateProgram(counting.ir, { target: { ...noModulo, allows: { ...noModulo.allows, fetchAtomics: true } } })).toThrow(
      /^policy 'rr-count' needs a remainder at queue-tag\.ts:7:\d+, which no-modulo does not allow\.$/,
    );
    // The same rule lets a policy without % through.
    expect(generateProgram(compile(["import { definePolicy } from '@syrup/core';", "export default definePolicy({ name: 'first', input: 'udp', schedule(pkt) { return pkt.srcPort; } });"]).ir, { target: noModulo }).target).toBe('no-modulo');
  });

  it('refuses a target without an id or a prologue before generating anything', () => {
    const broken = { ...QUEUE_TAG_TARGET, prologue: undefined } as unknown as CodegenTarget;
    expect(() => generateProgram(steering.ir, { target: broken })).toThrow(expect.objectContaining({ code: 'CODEGEN_INVALID_OPTION' }));
  });
});

describeKernel('a code generation target defined outside backend-ebpf, in the kernel', { needs: ['bpf'] }, () => {
  it('loads as an ordinary XDP program and decides as the policy says (BPF_PROG_TEST_RUN)', () => {
    using loaded = loadProgramSpec(generateProgram(steering.ir, { target: QUEUE_TAG_TARGET, sourceText: steering.text, port: 9000 }));
    const seen = loaded.dataMaps.get('seen')!;
    for (const first of [0, 1, 6, 255]) {
      const frame = udpFrame({ payload: new Uint8Array([first, 7, 7]), dstPort: 9000 });
      const run = loaded.program.testRun(frame);
      expect(run.retval).toBe(XDP_TX);
      // The executor ending wrote k over the destination MAC.
      expect(new DataView(run.dataOut.buffer, run.dataOut.byteOffset).getUint32(0, true)).toBe(first % 4);
      expect(run.dataOut.subarray(4)).toEqual(frame.subarray(4));
    }
    expect(loaded.program.testRun(udpFrame({ payload: new Uint8Array(0), dstPort: 9000 })).retval).toBe(XDP_DROP);
    // The port filter of the reused XDP prologue: another port passes untouched, and so does a non-UDP frame.
    expect(loaded.program.testRun(udpFrame({ payload: new Uint8Array([1]), dstPort: 9001 })).retval).toBe(XDP_PASS);
    expect(loaded.program.testRun(udpFrame({ payload: new Uint8Array([1]), dstPort: 9000, protocol: 6 })).retval).toBe(XDP_PASS);
    // The body's map writes happened in the kernel: payload[0] = 0 and 1 once each, 6 -> 2, 255 -> 3.
    expect([0, 1, 2, 3].map((key) => seen.lookup(key))).toEqual([[1n], [1n], [1n], [1n]]);
  });

  it('generates the rx_queue_index ending, which the verifier refuses for a host program as it must', () => {
    const spec = generateProgram(steering.ir, { target: RX_QUEUE_TARGET, sourceText: steering.text });
    expect(spec.target).toBe('rx-queue');
    let error: unknown;
    try {
      loadProgramSpec(spec).close();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).summary).toMatch(/invalid bpf_context access/);
  });
});
