import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '@syrup/core';
import { Instruction } from '@syrup/backend-ebpf/asm';
import { AGILIO_DEFAULT_PROFILE, formatViolation, nfpInstructionRule, validateForNfp, type NfpFirmwareProfile } from '../src/index.js';

const CORPUS = new URL('./corpus/not-offloadable/', import.meta.url);
const EXPECTED = JSON.parse(readFileSync(new URL('expected-messages.json', CORPUS), 'utf8')) as Record<string, string[]>;
const FILES = readdirSync(CORPUS)
  .filter((file) => file.endsWith('.ts'))
  .sort();

/** The corpus's second firmware profile: the default without bpf_get_prandom_u32. */
const NO_RANDOM: NfpFirmwareProfile = { ...AGILIO_DEFAULT_PROFILE, name: 'no-random', helpers: AGILIO_DEFAULT_PROFILE.helpers.filter((h) => h !== 'get_prandom_u32') };

function validate(file: string, profile: NfpFirmwareProfile = AGILIO_DEFAULT_PROFILE): string[] {
  const text = readFileSync(new URL(file, CORPUS), 'utf8');
  const ir = compilePolicy({ fileName: file, text }).ir;
  return validateForNfp(ir, { profile }).violations.map(formatViolation);
}

describe('the NFP validator against policies the NIC cannot run', () => {
  it('has at least 25 policies, each with its expected messages', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(25);
    expect(Object.keys(EXPECTED).sort()).toEqual(FILES);
    for (const messages of Object.values(EXPECTED)) expect(messages.length).toBeGreaterThan(0);
  });

  it.each(FILES)('%s: every violation at its line, with its reason', (file) => {
    expect(validate(file, file.startsWith('random-') ? NO_RANDOM : AGILIO_DEFAULT_PROFILE)).toEqual(EXPECTED[file]);
  });

  it('refuses random() only under a profile without it', () => {
    expect(validate('random-without-firmware.ts')).toEqual([]);
  });
});

/** Policies inside the subset, each exercising a lowering: they validate and their code passes the JIT's rule. */
const OFFLOADABLE: Record<string, string> = {
  'statement-counter': `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'statement-counter', input: 'udp',
  maps: { seen: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 }, hits: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  schedule(pkt, { seen, hits }) { seen.fetchAdd(pkt.srcPort, 1); hits.fetchAdd(pkt.dstPort & 3, pkt.len); return pkt.srcPort & 3; },
});`,
  'array-set': `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'array-set', input: 'udp',
  maps: { last: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 8 } },
  schedule(pkt, { last }) { last.set(pkt.srcPort & 7, pkt.hash); return last.get(pkt.dstPort & 7) % 8; },
});`,
  'constant-arithmetic': `import { definePolicy, PASS } from '@syrup/core';
export default definePolicy({
  name: 'constant-arithmetic', input: 'packet',
  schedule(frame) { if (frame.data.length < 16) return PASS; const x = frame.data.u64(0) * frame.data.u64le(8); return (x / 1000) % 7 + x % 1024 + x / 4096; },
});`,
  'random-spread': `import { definePolicy, random } from '@syrup/core';
export default definePolicy({ name: 'random-spread', input: 'udp', schedule() { return random() % 3; } });`,
};

describe('policies inside the NFP subset', () => {
  it.each(Object.keys(OFFLOADABLE))('%s validates, and its program has no instruction the NFP JIT refuses', (name) => {
    const ir = compilePolicy({ fileName: `${name}.ts`, text: OFFLOADABLE[name]! }).ir;
    const result = validateForNfp(ir);
    expect(result.violations.map(formatViolation)).toEqual([]);
    const instructions = result.spec!.instructions.filter((item): item is Instruction => item instanceof Instruction);
    expect(instructions.map(nfpInstructionRule).filter((what) => what !== undefined)).toEqual([]);
    // No immediate store, no remainder, no fetching atomic, and the queue store to xdp_md->rx_queue_index (offset 16).
    expect(instructions.some((ins) => (ins.opcode & 0x07) === 0x02)).toBe(false);
    expect(instructions.some((ins) => (ins.opcode & 0xf0) === 0x90 && ((ins.opcode & 0x07) === 0x04 || (ins.opcode & 0x07) === 0x07))).toBe(false);
    expect(instructions.some((ins) => (ins.opcode & 0x07) === 0x03 && (ins.opcode & 0xe0) === 0xc0 && Number(ins.imm) !== 0)).toBe(false);
    expect(instructions.some((ins) => ins.opcode === 0x63 && ins.offset === 16)).toBe(true);
  });
});

describe('the instruction rule', () => {
  it('names what the JIT refuses and lets the rest through', async () => {
    const asm = await import('@syrup/backend-ebpf/asm');
    const { R1, R2 } = asm;
    expect(nfpInstructionRule(asm.Mod.imm(R1, 3))).toMatch(/remainder/);
    expect(nfpInstructionRule(asm.Div.reg(R1, R2))).toMatch(/division by a register/);
    expect(nfpInstructionRule(asm.toLittleEndian(R1, 32))).toMatch(/byte swap/);
    expect(nfpInstructionRule(asm.byteSwap(R1, 32))).toMatch(/byte swap/);
    expect(nfpInstructionRule(asm.storeImm(R1, 0, 1, 'W'))).toMatch(/immediate store/);
    expect(nfpInstructionRule(asm.atomicFetch('add', R1, 0, R2))).toMatch(/atomic/);
    expect(nfpInstructionRule(asm.loadMapValue(R1, 'm'))).toMatch(/map value address/);
    expect(nfpInstructionRule(asm.SDiv.imm(R1, 3))).toMatch(/cpu-v4/);
    expect(nfpInstructionRule(asm.Mul.imm(R1, -3))).toMatch(/negative/);
    for (const allowed of [asm.Div.imm(R1, 3), asm.toBigEndian(R1, 64), asm.atomic('add', R1, 0, R2), asm.loadMapPtr(R1, 'm'), asm.Mul.reg(R1, R2)]) {
      expect(nfpInstructionRule(allowed)).toBeUndefined();
    }
  });
});
