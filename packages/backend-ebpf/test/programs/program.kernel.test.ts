import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Add, exit, JGT, label, loadMapValue, loadMem, Mov, JEq, R0, R1, R2, R3, R4, R7, R8 } from '../../src/asm/index.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { ensureBpffs } from '../../src/pin/bpffs.js';
import { unpin } from '../../src/pin/pin.js';
import { Program } from '../../src/programs/program.js';
import { ProgramError } from '../../src/programs/program-error.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { ProgType } from '../../src/syscalls/bpf-constants.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { removePinRoot, uniquePinRoot } from '../support/pin-root.js';
import { frame, loadXdp, returning, XDP_DROP, XDP_PASS } from '../support/xdp-programs.js';
import { caught } from '../support/caught.js';

/** A BTF blob with one `int` type and `strings`; returns the blob and each string's offset. */
function btfWithStrings(strings: readonly string[]): { blob: Uint8Array; offsets: number[] } {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [new Uint8Array([0]), encoder.encode('int\0')];
  const offsets: number[] = [];
  let length = 5;
  for (const s of strings) {
    offsets.push(length);
    const bytes = encoder.encode(`${s}\0`);
    parts.push(bytes);
    length += bytes.length;
  }
  const blob = new Uint8Array(24 + 16 + length);
  const view = new DataView(blob.buffer);
  view.setUint16(0, 0xeb9f, true);
  view.setUint8(2, 1);
  view.setUint32(4, 24, true);
  view.setUint32(8, 0, true);
  view.setUint32(12, 16, true);
  view.setUint32(16, 16, true);
  view.setUint32(20, length, true);
  // BTF_KIND_INT "int": name_off 1, info kind 1 << 24, size 4, encoding signed, 32 bits.
  view.setUint32(24, 1, true);
  view.setUint32(28, 1 << 24, true);
  view.setUint32(32, 4, true);
  view.setUint32(36, (1 << 24) | 32, true);
  let at = 40;
  for (const part of parts) {
    blob.set(part, at);
    at += part.length;
  }
  return { blob, offsets };
}

/** Reads packet[14]: one byte past the 14 bytes the bounds check proved. */
function outOfBounds(): ReturnType<typeof returning> {
  return [
    loadMem(R2, R1, 0, 'W'),
    loadMem(R1, R1, 4, 'W'),
    Mov.reg(R0, R2),
    Add.imm(R0, 14),
    JGT.reg(R0, R1, 'out'),
    loadMem(R0, R2, 14, 'B').withSource({ file: 'policy.ts', line: 7, column: 12 }),
    label('out'),
    exit(),
  ];
}

describeKernel('programs', { needs: ['bpf', 'bpffs'] }, () => {
  describe('loading', () => {
    let root = '';
    beforeAll(() => {
      root = ensureBpffs(uniquePinRoot());
    });
    afterAll(() => removePinRoot(root));

    it('loads, describes, pins, reopens and closes idempotently', () => {
      const program = loadXdp('syrup_pass', returning(XDP_PASS));
      const info = program.info();
      expect(info).toMatchObject({ type: ProgType.XDP, name: 'syrup_pass' });
      expect(info.id).toBeGreaterThan(0);
      expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
      expect(program.name).toBe('syrup_pass');
      program.pin(`${root}/prog`);
      const reopened = Program.open(`${root}/prog`);
      expect(reopened.info().id).toBe(info.id);
      expect(reopened.type).toBe(ProgType.XDP);
      program.close();
      program.close();
      expect(program.closed).toBe(true);
      expect((caught(() => program.fd) as ProgramError).code).toBe('PROGRAM_CLOSED');
      // The pin and the reopened fd keep the program alive after the first fd closed.
      expect(reopened.testRun(frame([])).retval).toBe(XDP_PASS);
      reopened[Symbol.dispose]();
      unpin(`${root}/prog`);
    });

    it('keeps the verifier log of a load that asked for it', () => {
      using program = Program.load({ name: 'logged', type: ProgType.XDP, license: 'GPL', instructions: returning(XDP_PASS) }, { logLevel: 1 });
      expect(program.verifierLog).toMatch(/processed 2 insns/);
    });

    it('accepts encoded instructions as bytes', () => {
      const bytes = new Uint8Array([0xb7, 0, 0, 0, XDP_DROP, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
      using program = Program.load({ name: 'bytes', type: ProgType.XDP, license: 'GPL', instructions: bytes });
      expect(program.testRun(frame([])).verdict).toBe('XDP_DROP');
    });
  });

  describe('verifier errors', () => {
    it('turns "R0 !read_ok" into a VerifierError with the failing instruction', () => {
      const error = caught(() => loadXdp('noread', [exit()])) as VerifierError;
      expect(error).toBeInstanceOf(VerifierError);
      expect(error.code).toBe('VERIFIER_REJECTED');
      expect(error.errnoName).toBe('EACCES');
      expect(error.summary).toBe('R0 !read_ok');
      expect(error.failingInstruction).toBe(0);
      expect(error.instruction).toBe('(95) exit');
      expect(error.message).toBe("program 'noread' was rejected by the verifier at instruction 0 ((95) exit): R0 !read_ok.");
      expect(error.log.some((line) => line.startsWith('processed 1 insns'))).toBe(true);
      expect(error.truncated).toBe(false);
    });

    it('points at the out-of-bounds packet read, its disassembly and its source', () => {
      const error = caught(() => loadXdp('oob', outOfBounds())) as VerifierError;
      expect(error).toBeInstanceOf(VerifierError);
      expect(error.failingInstruction).toBe(5);
      expect(error.instruction).toBe('(71) r0 = *(u8 *)(r2 +14)');
      expect(error.source).toEqual({ file: 'policy.ts', line: 7, column: 12 });
      expect(error.summary).toBe('R2 offset is outside of the packet');
      // The kernel's own line for the instruction matches the disassembly.
      expect(error.log).toContain('5: (71) r0 = *(u8 *)(r2 +14)');
      expect(error.message).toContain('from policy.ts:7:12');
      expect(error.format()).toBe(error.log.join('\n'));
      const short = error.format({ head: 1, tail: 2 }).split('\n');
      expect(short).toHaveLength(4);
      expect(short[0]).toBe(error.log[0]);
      expect(short[1]).toMatch(/^\.\.\. \(\d+ lines omitted\)$/);
      expect(short[3]).toBe(error.log[error.log.length - 1]);
    });

    it('maps the failing slot to source through BTF line info when instructions carry none', () => {
      const { blob, offsets } = btfWithStrings(['policy.ts', 'let x = 1;', 'return pkt[14];']);
      const records = new Uint8Array(32);
      const view = new DataView(records.buffer);
      // Slot 0: line 1 column 1; slot 5 (the bad read): line 3 column 9.
      view.setUint32(0, 0, true);
      view.setUint32(4, offsets[0] as number, true);
      view.setUint32(8, offsets[1] as number, true);
      view.setUint32(12, (1 << 10) | 1, true);
      view.setUint32(16, 5, true);
      view.setUint32(20, offsets[0] as number, true);
      view.setUint32(24, offsets[2] as number, true);
      view.setUint32(28, (3 << 10) | 9, true);
      const instructions = outOfBounds().map((item) => ('opcode' in item ? item.with({ source: undefined }) : item));
      const error = caught(() =>
        Program.load({
          name: 'btf_oob',
          type: ProgType.XDP,
          license: 'GPL',
          instructions,
          btf: { blob, lineInfo: { recordSize: 16, count: 2, data: records } },
        }),
      ) as VerifierError;
      expect(error).toBeInstanceOf(VerifierError);
      expect(error.failingInstruction).toBe(5);
      expect(error.source).toEqual({ file: 'policy.ts', line: 3, column: 9 });
      // The kernel printed the same source line from the BTF.
      expect(error.log).toContain('; return pkt[14]; @ policy.ts:3');
    });

    it('reports a refusal without a log as a ProgramError, not a verifier error', () => {
      const error = caught(() => Program.load({ name: 'badtype', type: 9999, license: 'GPL', instructions: returning(0) })) as ProgramError;
      expect(error).toBeInstanceOf(ProgramError);
      expect(error.code).toBe('PROGRAM_LOAD_FAILED');
      expect(error.message).toMatch(/EINVAL/);
    });

    it('refuses a spec whose map has no fd before calling the kernel', () => {
      const error = caught(() => loadXdp('nomap', [loadMapValue(R1, 'missing'), ...returning(0)])) as ProgramError;
      expect(error.code).toBe('PROGRAM_SPEC_INVALID');
    });
  });

  describe('test runs', () => {
    it('returns a verdict that depends on the packet and on a map value', () => {
      using store = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'wanted' });
      // DROP when packet[14] equals the u64 in wanted[0], PASS otherwise.
      using program = loadXdp(
        'match',
        [
          loadMem(R2, R1, 0, 'W'),
          loadMem(R3, R1, 4, 'W'),
          Mov.reg(R4, R2),
          Add.imm(R4, 15),
          JGT.reg(R4, R3, 'pass'),
          loadMem(R7, R2, 14, 'B'),
          loadMapValue(R1, 'wanted'),
          loadMem(R8, R1, 0, 'DW'),
          JEq.reg(R7, R8, 'drop'),
          label('pass'),
          Mov.imm(R0, XDP_PASS),
          exit(),
          label('drop'),
          Mov.imm(R0, XDP_DROP),
          exit(),
        ],
        { wanted: store.kernelMap },
      );
      store.update(0, [5n]);
      expect(program.testRun(frame([5])).verdict).toBe('XDP_DROP');
      expect(program.testRun(frame([6])).verdict).toBe('XDP_PASS');
      store.update(0, [6n]);
      expect(program.testRun(frame([6])).verdict).toBe('XDP_DROP');
      expect(program.testRun(frame([5])).retval).toBe(XDP_PASS);
    });

    it('sizes the output packet to what the kernel wrote and reports a per-run duration', () => {
      using program = loadXdp('pass', returning(XDP_PASS));
      const input = frame([1, 2, 3], 60);
      const result = program.testRun(input, { repeat: 1000 });
      expect(result.dataOut).toEqual(input);
      expect(result.durationNs).toBeGreaterThan(0);
      expect(result.durationNs).toBeLessThan(100_000);
      // A runner reuses its buffers: the result is a view that the next run overwrites.
      const runner = program.testRunner();
      const first = runner.run(frame([9]));
      runner.run(frame([8]));
      expect(first.dataOut[14]).toBe(8);
    });

    it('passes xdp_md in and reads it back', () => {
      using program = loadXdp('ctx', [loadMem(R0, R1, 16, 'W'), exit()]);
      const runner = program.testRunner({ ctxOut: true });
      const result = runner.run(frame([]), { ctxIn: { ingressIfindex: 1, rxQueueIndex: 0 } });
      expect(result.retval).toBe(0);
      expect(result.ctxOut).toHaveLength(24);
      expect(new DataView(result.ctxOut!.buffer, result.ctxOut!.byteOffset).getUint32(12, true)).toBe(1);
    });

    it('runs SCHED_CLS and SOCKET_FILTER programs', () => {
      using tc = Program.load({ name: 'tc', type: ProgType.SCHED_CLS, license: 'GPL', instructions: returning(2) });
      expect(tc.testRun(frame([1])).verdict).toBe('TC_ACT_SHOT');
      using filter = Program.load({ name: 'filter', type: ProgType.SOCKET_FILTER, license: 'GPL', instructions: returning(40) });
      const result = filter.testRun(frame([1]));
      expect(result.retval).toBe(40);
      expect(result.verdict).toBeUndefined();
    });

    it('explains a packet too short for XDP', () => {
      using program = loadXdp('short', returning(XDP_PASS));
      const error = caught(() => program.testRun(new Uint8Array(10))) as ProgramError;
      expect(error.code).toBe('PROGRAM_TEST_RUN_FAILED');
      expect(error.message).toMatch(/at least an Ethernet header/);
    });
  });
});
