import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { PolicyEvaluator } from '../../src/evaluator/policy-evaluator.js';
import { generateRandomInput, generateRandomPolicy, SeededRandom } from '../../src/testing/index.js';
import { dumpMaps, show } from '../support/evaluate.js';

describe('the compiled evaluator and the reference interpreter', () => {
  it('decide the same and leave the same maps on random policies and inputs', () => {
    const kinds = new Map<string, number>();
    for (let seed = 0; seed < 400; seed++) {
      const policy = generateRandomPolicy(seed);
      const { ir } = compilePolicy(policy);
      const make = (engine: 'compiled' | 'reference') => {
        const random = new SeededRandom(seed ^ 0x5eed);
        let clock = 1_000_000n;
        return new PolicyEvaluator(ir, { engine, cpu: seed % 3, cpus: 3, random: () => random.u32(), now: () => (clock += 977n) });
      };
      const compiled = make('compiled');
      const reference = make('reference');
      const inputs = new SeededRandom(seed + 1);
      for (let i = 0; i < 25; i++) {
        const input = generateRandomInput(inputs, policy.input);
        const cpu = inputs.int(3);
        const a = show(compiled.evaluate(input, { cpu }));
        const b = show(reference.evaluate(input, { cpu }));
        if (a !== b) throw new Error(`seed ${seed}, input ${i}: compiled ${a}, reference ${b}\n${policy.text}`);
        const kind = a === 'PASS' || a === 'DROP' ? a : 'executor';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      expect(dumpMaps(compiled.maps), `seed ${seed}`).toEqual(dumpMaps(reference.maps));
    }
    // The generated policies exercise every kind of decision, not only PASS from short payloads.
    expect(kinds.get('executor')).toBeGreaterThan(3000);
    expect(kinds.get('PASS')).toBeGreaterThan(300);
    expect(kinds.get('DROP')).toBeGreaterThan(100);
  });
});
