import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { PolicyCompileError } from '../../src/compiler/policy-compile-error.js';
import { formatPolicyIr } from '../../src/ir/format-policy-ir.js';
import { PolicyIrError, verifyPolicyIr } from '../../src/ir/verify-policy-ir.js';
import type { PolicyEvaluationInput } from '../../src/evaluator/evaluation-input.js';
import { PolicyEvaluator } from '../../src/evaluator/policy-evaluator.js';
import {
  defineInputFields,
  InputFieldTableError,
  STANDARD_INPUT_FIELD_SPECS,
  STANDARD_INPUT_FIELDS,
  type InputFieldSpec,
  type InputMemberOf,
} from '../../src/policy/input-fields.js';
import { INPUT_KINDS, type InputKind, type PacketInput, type TcpInput, type ThreadInput, type UdpInput } from '../../src/policy/inputs.js';
import { generateRandomInput, SeededRandom } from '../../src/testing/index.js';
import { udpPolicy } from '../support/compile.js';

// The fixture: the standard table plus two fields no input has. The table is a value built by
// defineInputFields and handed to each part, so no other test ever sees these fields.
const QUEUE_DEPTH: InputFieldSpec = { name: 'queueDepth', kinds: ['udp', 'thread'], width: 32, member: true, evaluation: { from: 'caller', absent: 'zero' } };
const FRAME_GUESS: InputFieldSpec = {
  name: 'frameGuess',
  kinds: ['udp'],
  width: 16,
  member: true,
  evaluation: { from: 'caller', absent: 'region-length', plus: 42 },
};
const WITH_MADE_UP = defineInputFields([...STANDARD_INPUT_FIELD_SPECS, QUEUE_DEPTH, FRAME_GUESS]);

const POLICY = udpPolicy('    return pkt.queueDepth * 1000 + pkt.frameGuess + pkt.srcPort;');
const THREAD_POLICY = udpPolicy('    return pkt.queueDepth + pkt.lastCpu;', { input: 'thread', maps: '{}', params: '{}', signature: 'pkt' });

const refusal = (run: () => unknown): Error => {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
};

describe('a made-up input field in a test table', () => {
  it('is read by the front end, with no other edit', () => {
    const { ir } = compilePolicy({ fileName: 'made-up.ts', text: POLICY }, { inputFields: WITH_MADE_UP });
    expect(formatPolicyIr(ir)).toContain('input queueDepth');
    expect(formatPolicyIr(ir)).toContain('input frameGuess');
    expect(compilePolicy({ fileName: 'made-up.ts', text: THREAD_POLICY }, { inputFields: WITH_MADE_UP }).ir.insns).toContainEqual(
      expect.objectContaining({ op: 'input', field: 'queueDepth' }),
    );
  });

  it('is accepted by the verifier for its kinds only', () => {
    const { ir } = compilePolicy({ fileName: 'made-up.ts', text: POLICY }, { inputFields: WITH_MADE_UP });
    expect(() => verifyPolicyIr(ir, 'strict', WITH_MADE_UP)).not.toThrow();
    const tcp = { ...ir, manifest: { ...ir.manifest, input: 'tcp' as const } };
    expect(refusal(() => verifyPolicyIr(tcp, 'strict', WITH_MADE_UP)).message).toMatch(/a tcp input has no field "(queueDepth|frameGuess)"/);
  });

  it.each(['compiled', 'reference'] as const)('is evaluated as its entry says by the %s engine', (engine) => {
    const { ir } = compilePolicy({ fileName: 'made-up.ts', text: POLICY }, { inputFields: WITH_MADE_UP });
    const evaluator = new PolicyEvaluator(ir, { inputFields: WITH_MADE_UP, engine });
    const given = { queueDepth: 3, frameGuess: 7, srcPort: 5 } as PolicyEvaluationInput;
    expect(evaluator.evaluate(given)).toEqual({ kind: 'executor', key: 3012n });
    // Absent: queueDepth is 0, frameGuess is the payload's length plus 42.
    expect(evaluator.evaluate({ payload: new Uint8Array(10), srcPort: 1 })).toEqual({ kind: 'executor', key: 53n });
    expect(refusal(() => evaluator.evaluate({ queueDepth: -1 } as PolicyEvaluationInput)).message).toBe(
      "input field 'queueDepth' is -1, not an unsigned 64-bit integer.",
    );
  });

  it('stays out of the standard table, which every other caller gets', () => {
    expect(refusal(() => compilePolicy({ fileName: 'made-up.ts', text: POLICY }))).toBeInstanceOf(PolicyCompileError);
    expect(refusal(() => compilePolicy({ fileName: 'made-up.ts', text: POLICY })).message).toBe("made-up.ts:10:16: a udp input has no field 'queueDepth'");
    const { ir } = compilePolicy({ fileName: 'made-up.ts', text: POLICY }, { inputFields: WITH_MADE_UP });
    expect(refusal(() => verifyPolicyIr(ir))).toBeInstanceOf(PolicyIrError);
    expect(refusal(() => new PolicyEvaluator(ir))).toBeInstanceOf(PolicyIrError);
    expect(STANDARD_INPUT_FIELDS.field('udp', 'queueDepth')).toBeUndefined();
  });
});

describe('defineInputFields', () => {
  const base: InputFieldSpec = { name: 'extra', kinds: ['udp'], width: 32, member: true, evaluation: { from: 'caller', absent: 'zero' } };
  it.each<[string, InputFieldSpec, string]>([
    ['a name the evaluator cannot write', { ...base, name: 'a-b' }, 'is not a JavaScript identifier'],
    ['a property every object has', { ...base, name: 'constructor' }, 'is not a JavaScript identifier'],
    ['a second field of a name', { ...base, name: 'srcPort' }, 'is defined twice or names a region'],
    ['a region name', { ...base, name: 'payload' }, 'is defined twice or names a region'],
    ['no kinds', { ...base, kinds: [] }, 'has no kinds'],
    ['a field no policy can read', { ...base, member: false }, 'no policy can read it'],
    ['a region length of a kind without the region', { ...base, kinds: ['tcp'], evaluation: { from: 'region-length' } }, 'not all of its kinds have'],
    ['a second length of a region', { ...base, member: false, regionLength: 'payload' }, 'second length of region payload'],
  ])('refuses %s', (_, spec, reason) => {
    const error = refusal(() => defineInputFields([...STANDARD_INPUT_FIELD_SPECS, spec]));
    expect(error).toBeInstanceOf(InputFieldTableError);
    expect(error.message).toContain(reason);
  });
});

/** The members of `Name` in inputs.ts, the hand-written interfaces policy authors see. */
function declaredMembers(name: string): string[] {
  const path = new URL('../../src/policy/inputs.ts', import.meta.url);
  const file = ts.createSourceFile(path.pathname, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
  const declaration = file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  return (declaration?.members ?? []).map((m) => (m.name as ts.Identifier).text).sort();
}

describe("the authors' input interfaces (inputs.ts, written by hand)", () => {
  const INTERFACES: Record<InputKind, string> = { udp: 'UdpInput', tcp: 'TcpInput', packet: 'PacketInput', thread: 'ThreadInput' };

  it.each(INPUT_KINDS)('declare exactly the %s members of the table, and its region', (kind) => {
    const members = STANDARD_INPUT_FIELDS.fieldsOf(kind).filter((f) => f.member).map((f) => f.name);
    const region = STANDARD_INPUT_FIELDS.regionOf(kind);
    expect(declaredMembers(INTERFACES[kind])).toEqual([...members, ...(region === undefined ? [] : [region])].sort());
  });

  it.each(INPUT_KINDS)("are listed for %s in docs/policy-language.md's table of inputs", (kind) => {
    const doc = readFileSync(new URL('../../docs/policy-language.md', import.meta.url), 'utf8');
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${kind}\` |`)) ?? '';
    const listed = [...row.split('|')[2]!.matchAll(/`([\w.]+)`/g)].map((m) => m[1]);
    const reads = STANDARD_INPUT_FIELDS.fieldsOf(kind).flatMap((f) => [...(f.member ? [f.name] : []), ...(f.regionLength ? [`${f.regionLength}.length`] : [])]);
    expect(listed.sort()).toEqual(reads.sort());
  });

  it.each(INPUT_KINDS)('are all given by the random inputs of %s (so the differential suites exercise them)', (kind) => {
    const rng = new SeededRandom(1);
    const given = new Set(Array.from({ length: 50 }, () => Object.keys(generateRandomInput(rng, kind))).flat());
    const callerFields = STANDARD_INPUT_FIELDS.fieldsOf(kind).filter((f) => f.evaluation.from === 'caller' && f.evaluation.absent === 'zero');
    for (const field of callerFields) expect(given).toContain(field.name);
  });

  it('agree with the table as types too (checked by the typecheck)', () => {
    expectTypeOf<keyof UdpInput>().toEqualTypeOf<InputMemberOf<'udp'> | 'payload'>();
    expectTypeOf<keyof TcpInput>().toEqualTypeOf<InputMemberOf<'tcp'>>();
    expectTypeOf<keyof PacketInput>().toEqualTypeOf<InputMemberOf<'packet'> | 'data'>();
    expectTypeOf<keyof ThreadInput>().toEqualTypeOf<InputMemberOf<'thread'>>();
  });
});
