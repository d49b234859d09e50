import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { PolicyCompileError } from '../../src/compiler/policy-compile-error.js';
import { POLICY_LIMITS, type PolicyLimits } from '../../src/compiler/policy-limits.js';
import { formatPolicyIr } from '../../src/ir/format-policy-ir.js';
import { insnRegisters } from '../../src/ir/verify-policy-ir.js';
import type { IrInsn, PolicyIr } from '../../src/ir/policy-ir.js';
import { compileError, compileText, udpPolicy } from '../support/compile.js';

const SITA = `import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'sita',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 6 },
  schedule(pkt, { next }, { SOCKETS }) {
    if (pkt.payload.length < 4) return PASS;
    if (pkt.payload.u32(0) === 1) return 0;        // SCAN -> socket 0
    return 1 + (next.fetchAdd(0, 1) % (SOCKETS - 1)); // GET -> round robin over the rest
  },
});
`;

const returned = (ir: PolicyIr): IrInsn | undefined => ir.insns.find((insn) => insn.op === 'return');

describe('compilePolicy', () => {
  it('lowers the README\'s SITA policy', () => {
    const { ir, manifest } = compilePolicy({ fileName: 'sita.ts', text: SITA });
    expect(manifest).toEqual({
      name: 'sita',
      input: 'udp',
      maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
      params: { SOCKETS: 6 },
    });
    expect(ir.manifest).toBe(manifest);
    expect(ir.fileName).toBe('sita.ts');
    expect(ir.registerCount).toBe(5);
    expect(formatPolicyIr(ir, { positions: true })).toMatchInlineSnapshot(`
      "  r0 = input payloadLength               ; 9:9
        if ge r0, 4 jump L0                    ; 9:9
        return pass                            ; 9:33
      L0:                                      ; 9:5
        r1 = load payload[0] u32               ; 10:9
        if ne r1, 1 jump L1                    ; 10:9
        return 0                               ; 10:35
      L1:                                      ; 10:5
        r2 = next.fetch-add 0, 1               ; 11:17
        r3 = mod r2, 5                         ; 11:17
        r4 = add r3, 1                         ; 11:12
        return r4                              ; 11:5"
    `);
  });

  it('folds params into the code and takes deploy-time overrides', () => {
    const { ir, manifest } = compilePolicy({ fileName: 'sita.ts', text: SITA }, { params: { SOCKETS: 3 } });
    expect(manifest.params).toEqual({ SOCKETS: 3 });
    expect(formatPolicyIr(ir)).toContain('= mod r2, 2');
    const big = compilePolicy({ fileName: 'sita.ts', text: SITA }, { params: { SOCKETS: (1n << 64n) - 1n } });
    expect(formatPolicyIr(big.ir)).toContain('= mod r2, 18446744073709551614');
  });

  it.each([
    [{ WORKERS: 2 }, "sita.ts:7:3: policy 'sita' declares no param 'WORKERS' to override"],
    [{ SOCKETS: -1 }, "sita.ts:7:3: policy 'sita' param 'SOCKETS' is -1, not an unsigned 64-bit integer."],
    [{ SOCKETS: 1.5 }, "sita.ts:7:3: policy 'sita' param 'SOCKETS' is 1.5, not an unsigned 64-bit integer."],
  ])('refuses the param override %j', (params, message) => {
    expect(compileError(SITA, { params }, 'sita.ts')).toBe(message);
  });

  it('reads integer literals exactly from the source text', () => {
    const literals = ['0xffff_ffff_ffff_ffff', '9007199254740993', '0b101', '0o17', '1_000', '123n', '0', '0XABn'];
    const values = literals.map((literal) => {
      const ir = compileText(udpPolicy(`    return ${literal};`));
      return (returned(ir) as { value: bigint }).value;
    });
    expect(values).toEqual([18446744073709551615n, 9007199254740993n, 5n, 15n, 1000n, 123n, 0n, 171n]);
  });

  it('keeps params beyond 2^53 exact, as bigints', () => {
    const { ir, manifest } = compilePolicy({
      fileName: 'big.ts',
      text: udpPolicy('    return pkt.hash + BIG;', { params: '{ BIG: 0xffff_ffff_ffff_fff0, SMALL: 7 }', signature: 'pkt, _maps, { BIG }' }),
    });
    expect(manifest.params).toEqual({ BIG: 0xffff_ffff_ffff_fff0n, SMALL: 7 });
    expect(formatPolicyIr(ir)).toContain('add r0, 18446744073709551600');
  });

  it('folds constant expressions with the IR semantics', () => {
    const ir = compileText(udpPolicy('    return (0 - 1) / 0 + (7 % 0) + (1 << 65) + (-1 >>> 60) + (-1 >> 60) + (3 > -1 ? 1 : 0) + ~0 + 1;'));
    // 0 + 7 + 2 + 15 + 15 + 0 + (2^64 - 1) + 1 wraps to 39.
    expect(formatPolicyIr(ir)).toBe('  return 39');
  });

  it('keeps a source position on every instruction', () => {
    const text = readFileSync(new URL('./corpus/valid/language-tour.ts', import.meta.url), 'utf8');
    const ir = compileText(text);
    const lines = text.split('\n').length;
    for (const insn of ir.insns) {
      expect(insn.pos).toBeDefined();
      expect(insn.pos!.line).toBeGreaterThanOrEqual(1);
      expect(insn.pos!.line).toBeLessThanOrEqual(lines);
      expect(insn.pos!.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('unrolls bounded loops, folding the counter into each copy', () => {
    const ir = compileText(
      udpPolicy(
        `    for (let i = 0; i < SOCKETS; i++) {
      if (busy.get(i) === 0) return i;
    }
    return PASS;`,
        { maps: `{ busy: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 8 } }`, signature: 'pkt, { busy }, { SOCKETS }' },
      ),
    );
    expect(formatPolicyIr(ir)).toMatchInlineSnapshot(`
      "  r0 = busy.get 0
        if ne r0, 0 jump L2
        return 0
      L2:
        r1 = busy.get 1
        if ne r1, 0 jump L4
        return 1
      L4:
        r2 = busy.get 2
        if ne r2, 0 jump L6
        return 2
      L6:
        r3 = busy.get 3
        if ne r3, 0 jump L8
        return 3
      L8:
        return pass"
    `);
  });

  it('emits forward jumps only, no dead code, and dense registers', () => {
    for (const file of ['language-tour.ts', 'many-live-values.ts', 'least-loaded.ts']) {
      const ir = compileText(readFileSync(new URL(`./corpus/valid/${file}`, import.meta.url), 'utf8'));
      const labelAt = new Map(ir.insns.flatMap((insn, i) => (insn.op === 'label' ? [[insn.label, i] as const] : [])));
      ir.insns.forEach((insn, i) => {
        if (insn.op === 'jump' || insn.op === 'jump-if') expect(labelAt.get(insn.target)).toBeGreaterThan(i);
      });
      const used = new Set(ir.insns.flatMap((insn) => {
        const { reads, write } = insnRegisters(insn);
        return write === undefined ? reads : [...reads, write];
      }));
      expect(used.size).toBe(ir.registerCount);
      expect(Math.max(...used)).toBe(ir.registerCount - 1);
    }
  });

  it('drops code after a return and branches a constant condition decides', () => {
    const ir = compileText(
      udpPolicy(`    if (SOCKETS > 100) {
      next.set(0, 1);
    }
    return 1;
    next.set(1, 1);`),
    );
    expect(formatPolicyIr(ir)).toBe('  return 1');
  });

  it('lowers && and || with JavaScript value semantics and short circuits', () => {
    const ir = compileText(udpPolicy('    return pkt.len && next.fetchAdd(0, 1);'));
    expect(formatPolicyIr(ir)).toMatchInlineSnapshot(`
      "  r0 = input len
        r1 = r0
        if eq r0, 0 jump L0
        r2 = next.fetch-add 0, 1
        r1 = r2
      L0:
        return r1"
    `);
  });

  it('inlines same-module functions and lets a function whose call schedule returns return PASS', () => {
    const ir = compileText(
      udpPolicy('    return pick(pkt, SOCKETS);', {
        top: `const twice = (x: number): number => x * 2;
function pick(pkt: UdpInput, n: number) {
  if (pkt.len < 8) return PASS;
  return twice(pkt.hash) % n;
}`,
      }),
    );
    expect(formatPolicyIr(ir)).toMatchInlineSnapshot(`
      "  r0 = input len
        if ge r0, 8 jump L0
        return pass
      L0:
        r1 = input hash
        r2 = mul r1, 2
        r3 = r2
        r4 = mod r3, 4
        return r4"
    `);
  });

  it('gives an assigned helper parameter its own register and leaves the caller variable alone', () => {
    const ir = compileText(
      udpPolicy('    let x = pkt.len;\n    const y = bump(x);\n    return x + y;', {
        top: `function bump(v: number): number {
  v += 1;
  return v;
}`,
      }),
    );
    expect(formatPolicyIr(ir)).toMatchInlineSnapshot(`
      "  r0 = input len
        r1 = r0
        r1 = add r1, 1
        r2 = r1
        r3 = add r0, r2
        return r3"
    `);
  });

  it.each([
    ['export default definePolicy({...})', `export default definePolicy({ name: 'p', input: 'udp', schedule: () => 1 });`],
    ['export const', `export const p = definePolicy({ name: 'p', input: 'udp', schedule: () => 1 });`],
    ['export default of a const', `const p = definePolicy({ name: 'p', input: 'udp', schedule: () => 1 });\nexport default p;`],
    ['export { p as default }', `const p = definePolicy({ name: 'p', input: 'udp', schedule: () => 1 });\nexport { p as default };`],
    ['schedule as a function expression', `export default definePolicy({ name: 'p', input: 'udp', schedule: function (pkt) { return 1; } });`],
    ['schedule as a module function', `function pick(): number { return 1; }\nexport default definePolicy({ name: 'p', input: 'udp', schedule: pick });`],
    ['satisfies and as const', `export default definePolicy({ name: 'p' as const, input: 'udp', params: { N: 1 } as const, schedule: () => 1 as number }) satisfies object;`],
  ])('accepts %s', (_, body) => {
    const ir = compileText(`import { definePolicy } from '@syrup/core';\n${body}\n`);
    expect(formatPolicyIr(ir)).toBe('  return 1');
  });

  it('accepts destructuring in the body and a let without a value', () => {
    const ir = compileText(
      udpPolicy(
        `    const { next } = maps;
    const { SOCKETS } = params;
    const { payload, hash } = pkt;
    let x: number;
    if (payload.length > 3) x = hash;
    return (x + next.get(0)) % SOCKETS;`,
        { signature: 'pkt, maps, params' },
      ),
    );
    expect(formatPolicyIr(ir)).toMatchInlineSnapshot(`
      "  r0 = input hash
        r1 = 0
        r2 = input payloadLength
        if le r2, 3 jump L0
        r1 = r0
      L0:
        r3 = next.get 0
        r4 = add r1, r3
        r5 = mod r4, 4
        return r5"
    `);
  });

  it.each([
    ['a syntax error', udpPolicy('    return 1 +;'), 'test.ts:10:15: Expression expected.'],
    ['a legacy octal literal', udpPolicy('    return 0777;'), "test.ts:10:12: Octal literals are not allowed. Use the syntax '0o777'."],
    ['a source over the size limit', `// ${'x'.repeat(POLICY_LIMITS.maxSourceLength)}`, `test.ts:1:1: the policy source has ${POLICY_LIMITS.maxSourceLength + 3} characters, more than the limit of ${POLICY_LIMITS.maxSourceLength}`],
    ['brackets nested too deep', `x = ${'('.repeat(300)}1${')'.repeat(300)};`, 'test.ts:1:205: brackets are nested more than 200 levels deep'],
  ])('refuses %s with file:line:column', (_, text, message) => {
    const error = compileError(text);
    expect(error?.startsWith(message)).toBe(true);
  });

  it('reports the instruction budget at the instruction that crosses it', () => {
    const text = udpPolicy(`    let n = 0;\n${'    n += next.get(n) * next.get(n + 1);\n'.repeat(1400)}    return n;`);
    expect(compileError(text)).toMatch(/^test\.ts:\d+:\d+: the policy compiles to more than 4096 IR instructions after inlining calls and unrolling loops$/);
  });

  it('bounds the work of sources built to explode, dead code included', () => {
    const doubling = Array.from({ length: 30 }, (_, i) =>
      i === 0 ? 'function f0(): number {\n  return 1;\n}' : `function f${i}(): number {\n  return f${i - 1}() + f${i - 1}();\n}`,
    ).join('\n');
    expect(compileError(udpPolicy('    if (SOCKETS > 100) return f29();\n    return 0;', { top: doubling }))).toMatch(
      /^test\.ts:\d+:\d+: the policy is too large: lowering it after inlining calls and unrolling loops takes more than 250000 steps$/,
    );
    const chain = Array.from({ length: 300 }, (_, i) => `function g${i}(): number {\n  return ${i === 0 ? '1' : `g${i - 1}()`};\n}`).join('\n');
    expect(compileError(udpPolicy('    return g299();', { top: chain }))).toMatch(
      /^test\.ts:\d+:\d+: code is nested more than 200 levels deep \(statements, expressions and inlined calls\)$/,
    );
  });

  it('evaluates every constant expression by one set of rules: case values, top-level consts, ThreadEvent members, folded conditions', () => {
    // constant-folder.ts and docs/policy-language.md ("Compile-time constants"): one evaluator, so
    // each rule holds wherever a constant is read, whether it must be one or is only folded.
    const terms = (n: number): string => Array.from({ length: n }, () => '1').join(' + ');
    const tooDeep = `code is nested more than ${POLICY_LIMITS.maxNestingDepth} levels deep (statements, expressions and inlined calls)`;
    const inSwitch = (value: string): string => udpPolicy(`    switch (pkt.len) {\n      case ${value}: return 1;\n    }\n    return 0;`, { signature: 'pkt' });
    const inCondition = (condition: string): string => udpPolicy(`    return (${condition}) ? 1 : 2;`, { signature: 'pkt' });
    // Nesting counts the same everywhere: a constant nests as deep as the same code at run time.
    expect(compileError(inSwitch(terms(250)))).toBe(`test.ts:11:12: ${tooDeep}`);
    expect(compileError(udpPolicy('    return K;', { top: `const K = ${terms(250)};` }))).toBe(`test.ts:3:11: ${tooDeep}`);
    expect(compileError(inCondition(`${terms(250)}) > (3`))).toBe(`test.ts:10:13: ${tooDeep}`);
    expect(compileError(inCondition(`${terms(150)}) > (3`))).toBeUndefined();
    // A constant left side (or condition) that decides the result short-circuits everywhere; the other side is still checked.
    expect(compileError(inSwitch('0 && pkt.len'))).toBeUndefined();
    expect(compileError(inSwitch('1 ? 2 : pkt.len'))).toBeUndefined();
    expect(formatPolicyIr(compileText(inCondition('0 && pkt.len')))).toBe('  return 2');
    expect(formatPolicyIr(compileText(inCondition('1 || pkt.len')))).toBe('  return 1');
    expect(formatPolicyIr(compileText(inCondition('(0 ? pkt.len : 3) && 1')))).toBe('  return 1');
    expect(compileError(inSwitch('0 && pkt.bogus'))).toBe("test.ts:11:21: a udp input has no field 'bogus'");
    expect(compileError(inCondition('0 && pkt.bogus'))).toBe("test.ts:10:22: a udp input has no field 'bogus'");
    expect(compileError(inSwitch('1 && pkt.len'))).toBe('test.ts:11:12: case values must be compile-time constants (literals, params and constants)');
    // A variable is never a constant, not even times 0 (which the IR builder simplifies away at run time).
    const times0 = udpPolicy('    let x = pkt.len;\n    switch (pkt.len) {\n      case x * 0: return 1;\n    }\n    return 0;', { signature: 'pkt' });
    expect(compileError(times0)).toBe('test.ts:12:12: case values must be compile-time constants (literals, params and constants)');
    // Optional chaining is refused on ThreadEvent as on anything else.
    const top = "import { ThreadEvent } from '@syrup/core';";
    const optional = 'test.ts:11:12: optional chaining (?.) is not allowed in policy code';
    expect(compileError(udpPolicy('    switch (pkt.len) {\n      case ThreadEvent?.NEW: return 1;\n    }\n    return 0;', { signature: 'pkt', top }))).toBe(optional);
    expect(compileError(udpPolicy('    return ThreadEvent?.NEW ? 1 : 2;', { signature: 'pkt', top }))).toBe('test.ts:10:12: optional chaining (?.) is not allowed in policy code');
    expect(compileError(udpPolicy('    return K;', { top: `${top}\nconst K = ThreadEvent?.NEW;` }))).toBe('test.ts:4:11: optional chaining (?.) is not allowed in policy code');
    // Every node costs one step, wherever it is evaluated: params.X (the access and params) costs one more than a literal.
    const steps = (text: string): number => {
      let low = 1;
      let high = 256;
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        // PolicyLimits has the literal types of POLICY_LIMITS, so a tighter budget needs a cast.
        const limits = { maxLoweringSteps: middle } as unknown as Partial<PolicyLimits>;
        if (compileError(text, { limits }) === undefined) high = middle;
        else low = middle + 1;
      }
      return low;
    };
    const withParams = (body: (value: string) => string): number => steps(body('params.SOCKETS')) - steps(body('4'));
    const params = (body: string): string => udpPolicy(body, { signature: 'pkt, maps, params' });
    expect(withParams((v) => params(`    switch (pkt.len) {\n      case ${v}: return 1;\n    }\n    return 0;`))).toBe(1);
    expect(withParams((v) => params(`    return ${v} ? 1 : 2;`))).toBe(1);
    // A condition that turns out not constant is walked twice, evaluated and then lowered: one step more each time.
    expect(withParams((v) => params(`    return (${v} && pkt.len) ? 1 : 2;`))).toBe(2);
    expect(withParams((v) => params(`    return ${v} + pkt.len;`))).toBe(1);
  });

  it('charges constant folding to the step budget: a big constant condition folded in every unrolled iteration is refused at its line', () => {
    // Issue #15's folding bomb: 20 480 unrolled iterations lower in about 164 000 steps, under
    // the budget, but each folds a 4 096-term condition. Before folding counted, this policy
    // compiled, after more than a minute of folding; now the folding crosses the budget. The
    // terms are summed as a balanced tree, 24 levels deep: a chain of 4 096 nests too deeply.
    const sum = (n: number): string => (n === 1 ? '1' : `(${sum(n / 2)} + ${sum(n / 2)})`);
    const condition = sum(4096);
    const bomb = (outer: number, inner: number): string =>
      udpPolicy(`    let n = 0;\n    for (let i = 0; i < ${outer}; i++) {\n      for (let j = 0; j < ${inner}; j++) {\n        const x = (${condition}) ? 1 : 2;\n      }\n    }\n    return n;`);
    let refusal: unknown;
    try {
      compilePolicy({ fileName: 'bomb.ts', text: bomb(1024, 20) });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(PolicyCompileError);
    expect(refusal).toMatchObject({
      code: 'POLICY_COMPILE',
      fileName: 'bomb.ts',
      line: 13,
      reason: `the policy is too large: lowering it after inlining calls and unrolling loops takes more than ${POLICY_LIMITS.maxLoweringSteps} steps`,
    });
    // Positive control: the same shape with a few iterations compiles.
    expect(compileError(bomb(4, 2), undefined, 'bomb.ts')).toBeUndefined();
  });
});
