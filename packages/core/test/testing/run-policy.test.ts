import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyCompileError } from '../../src/index.js';
import { assertDecisions, decisionOf, PolicyTestError, runPolicy } from '../../src/testing/index.js';

const ROUND_ROBIN = {
  fileName: 'round-robin.ts',
  text: `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'round-robin',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 6 },
  schedule(_pkt, { next }, { SOCKETS }) {
    return next.fetchAdd(0, 1) % SOCKETS;
  },
});
`,
};

const BY_PORT = {
  fileName: 'by-port.ts',
  text: `import { definePolicy, PASS, DROP } from '@syrup/core';
export default definePolicy({
  name: 'by-port',
  input: 'udp',
  maps: { blocked: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 16 } },
  schedule(pkt, { blocked }) {
    if (blocked.get(pkt.srcPort) !== 0) return DROP;
    if (pkt.srcPort < 1024) return PASS;
    return pkt.srcPort % 2;
  },
});
`,
};

describe('runPolicy and assertDecisions (@syrup/core/testing)', () => {
  it('runs a policy over inputs with its params, from map contents given, and reads the maps after', () => {
    const run = runPolicy(ROUND_ROBIN, [{}, {}, {}, {}], { params: { SOCKETS: 3 }, maps: { next: { 0: 10 } } });
    assertDecisions(run, [1, 2, 0, 1]);
    expect(run.decisions.map(decisionOf)).toEqual([1, 2, 0, 1]);
    expect(run.mapValue('next', 0)).toBe(14n);
  });

  it('decides pass and drop, from a file path too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-policy-'));
    try {
      const file = join(dir, 'by-port.ts');
      writeFileSync(file, BY_PORT.text);
      const run = runPolicy(file, [{ srcPort: 53 }, { srcPort: 4001 }, { srcPort: 4002 }, { srcPort: 5000 }], { maps: { blocked: { 5000: 1 } } });
      assertDecisions(run, ['pass', 1, 0, 'drop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which input differs, and refuses a map the policy does not declare', () => {
    const run = runPolicy(ROUND_ROBIN, [{}, {}], { params: { SOCKETS: 2 } });
    expect(() => assertDecisions(run, [0, 0])).toThrow(new PolicyTestError('input 1 was decided 1, expected 0 (all decisions: 0, 1).'));
    expect(() => assertDecisions(run, [0])).toThrow('expected 1 decisions, got 2: 0, 1.');
    expect(() => runPolicy(ROUND_ROBIN, [], { maps: { counts: { 0: 1 } } })).toThrow("policy 'round-robin' declares no map 'counts' (it declares next).");
  });

  it('refuses a policy syrupd would refuse, with the compiler error', () => {
    expect(() => runPolicy({ fileName: 'bad.ts', text: 'export default 1;' }, [])).toThrow(PolicyCompileError);
  });
});
