import type { PolicyEvaluationInput } from '../../evaluator/evaluation-input.js';
import type { InputKind } from '../../policy/inputs.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * A random input of the given kind for a generated policy: small field values as often as
 * large ones (so comparisons with small constants go both ways), payloads of 0 to 40 bytes
 * (so reads at constant offsets are sometimes past the end) whose first bytes are often small
 * (request types 0-3), and `hash` sometimes left out so the evaluator computes the flow hash.
 */
export function generateRandomInput(rng: SeededRandom, kind: InputKind): PolicyEvaluationInput {
  const u32 = (): number => (rng.chance(0.5) ? rng.range(0, 9) : rng.u32());
  const u16 = (): number => (rng.chance(0.5) ? rng.range(0, 9) : rng.int(0x1_0000));
  const bytes = (): Uint8Array => {
    const length = rng.chance(0.2) ? rng.range(0, 7) : rng.range(8, 40);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = rng.chance(0.5) ? rng.range(0, 3) : rng.int(256);
    return out;
  };
  switch (kind) {
    case 'udp': {
      const payload = bytes();
      return {
        srcAddr: u32(),
        dstAddr: u32(),
        srcPort: u16(),
        dstPort: u16(),
        ...(rng.chance(0.5) ? { hash: rng.u32() } : {}),
        ...(rng.chance(0.3) ? { len: payload.length + 8 + rng.int(3) } : {}),
        payload,
      };
    }
    case 'tcp':
      return { srcAddr: u32(), dstAddr: u32(), srcPort: u16(), dstPort: u16(), ...(rng.chance(0.5) ? { hash: rng.u32() } : {}) };
    case 'packet':
      return { data: bytes() };
    case 'thread':
      return { tid: u32(), pid: u32(), event: rng.range(1, 5), lastCpu: rng.range(0, 3), runtimeNs: rng.chance(0.5) ? rng.u64() : BigInt(rng.u32()) };
  }
}
