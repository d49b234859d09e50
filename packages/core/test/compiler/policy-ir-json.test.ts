import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { policyIrFromJson, policyIrToJson } from '../../src/ir/policy-ir-json.js';
import type { PolicyIr } from '../../src/ir/policy-ir.js';
import { udpPolicy } from '../support/compile.js';

const U64_MAX = (1n << 64n) - 1n;
const corpus = new URL('./corpus/valid/', import.meta.url);

/** Through text, as a state file carries it. */
function roundTrip(ir: PolicyIr): PolicyIr {
  return policyIrFromJson(JSON.parse(JSON.stringify(policyIrToJson(ir))));
}

function jsonOf(ir: PolicyIr): Record<string, unknown> & { insns: Record<string, unknown>[] } {
  return JSON.parse(JSON.stringify(policyIrToJson(ir)));
}

const withImmediates = compilePolicy(
  { fileName: 'big.ts', text: udpPolicy(`    const x = next.get(0) + 18446744073709551615n; next.set(1, x * BIG); return x % SOCKETS;`, { params: '{ SOCKETS: 4, BIG: 3 }', signature: 'pkt, { next }, { SOCKETS, BIG }' }) },
  { params: { BIG: U64_MAX } },
).ir;

describe('policyIrToJson / policyIrFromJson', () => {
  it('gives back every valid corpus policy unchanged through JSON text, positions and manifest included', () => {
    const files = readdirSync(corpus).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const { ir } = compilePolicy({ fileName: file, text: readFileSync(new URL(file, corpus), 'utf8') });
      expect(roundTrip(ir), file).toEqual(ir);
    }
  });

  it('writes u64 immediates and bigint params as decimal strings and reads them back as bigints', () => {
    const json = jsonOf(withImmediates);
    expect((json['manifest'] as { params: unknown }).params).toEqual({ SOCKETS: 4, BIG: U64_MAX.toString() });
    expect(json.insns.some((insn) => Object.values(insn).includes(U64_MAX.toString()))).toBe(true);
    const back = roundTrip(withImmediates);
    expect(back).toEqual(withImmediates);
    expect(back.manifest.params['BIG']).toBe(U64_MAX);
  });

  it('refuses an immediate that is not a decimal u64, naming the instruction', () => {
    const json = jsonOf(withImmediates);
    const index = json.insns.findIndex((insn) => insn['b'] === U64_MAX.toString());
    expect(index).toBeGreaterThanOrEqual(0);
    json.insns[index]!['b'] = '0x10';
    expect(() => policyIrFromJson(json)).toThrow(`instruction ${index}: b "0x10" is not a decimal u64.`);
    json.insns[index]!['b'] = (U64_MAX + 1n).toString();
    expect(() => policyIrFromJson(json)).toThrow(/is not a u64/);
  });

  it('refuses a manifest the front end would not accept, a bad position, a foreign version and a broken instruction list', () => {
    const badName = jsonOf(withImmediates);
    (badName['manifest'] as Record<string, unknown>)['name'] = 'Not A Name';
    expect(() => policyIrFromJson(badName)).toThrow(/^the policy IR's manifest is invalid: policy name "Not A Name" must be/);

    const badPos = jsonOf(withImmediates);
    badPos.insns[0]!['pos'] = { line: 0, column: 1 };
    expect(() => policyIrFromJson(badPos)).toThrow('instruction 0: its source position is not a line and a column.');

    const version = jsonOf(withImmediates);
    version['version'] = 2;
    expect(() => policyIrFromJson(version)).toThrow('policy IR version 2 is not the supported version 1.');

    const register = jsonOf(withImmediates);
    const mov = register.insns.findIndex((insn) => typeof insn['dst'] === 'number');
    register.insns[mov]!['dst'] = 10_000;
    expect(() => policyIrFromJson(register)).toThrow(expect.objectContaining({ code: 'POLICY_IR_INVALID', index: mov }));

    expect(() => policyIrFromJson([1, 2])).toThrow('the policy IR is not a JSON object.');
    expect(() => policyIrFromJson({ ...jsonOf(withImmediates), insns: 'none' })).toThrow('the policy IR has no instruction list.');
  });

  it('keeps a __proto__ key of an instruction as a plain field instead of a prototype', () => {
    const json = JSON.parse(JSON.stringify(policyIrToJson(withImmediates)).replace('{"op":', '{"__proto__":{"polluted":true},"op":'));
    const back = policyIrFromJson(json);
    expect(Object.getPrototypeOf(back.insns[0])).toBe(Object.prototype);
    expect((back.insns[0] as unknown as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
