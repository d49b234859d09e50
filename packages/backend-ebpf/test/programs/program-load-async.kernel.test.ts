// Program.loadAsync against the real verifier: a policy whose branches all feed one payload
// offset makes the verifier walk every combination of them (issue #15's "verifier-bound
// policy"), for seconds; the load must leave the event loop free meanwhile.
import { compilePolicy } from '@syrup/core';
import { expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { generateProgram, generateTestHarness, SOCKET_SELECT_TARGET } from '../../src/codegen/index.js';
import { loadProgramSpecAsync } from '../../src/loader/loaded-program.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { runHarness, udpFrame } from '../codegen/kernel-support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/** `branches` tests of payload bytes, each adding its own amount to the offset of the final read: 2^branches paths the verifier cannot prune. */
function branchyPolicy(branches: number): string {
  const tests = Array.from({ length: branches }, (_, i) => `    if (pkt.payload.u8(${i}) === 7) off += ${1 << i};`);
  return [
    "import { definePolicy } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'branchy', input: 'udp', maps: {}, params: {},",
    '  schedule(pkt) {',
    '    let off = 0;',
    ...tests,
    '    return pkt.payload.u8(off) + pkt.payload.u8(off + 1);',
    '  },',
    '});',
  ].join('\n');
}

describeKernel('Program.loadAsync', { needs: ['bpf'] }, () => {
  it("keeps the event loop turning while the verifier explores a path-exploding policy, then reports the verifier's refusal at its line", async () => {
    const text = branchyPolicy(12);
    const { ir } = compilePolicy({ fileName: 'branchy.ts', text });
    const spec = generateProgram(ir, { target: SOCKET_SELECT_TARGET, sourceText: text });
    const before = openFdCount();
    let settled = false;
    const loading = loadProgramSpecAsync(spec).then(
      () => undefined,
      (error: unknown) => error,
    );
    void loading.finally(() => (settled = true));
    // Turns of the event loop while the load is in the kernel: a load on this thread would allow none.
    let turns = 0;
    while (!settled) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      turns++;
    }
    const error = await loading;
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).message).toMatch(/^program 'branchy' was rejected by the verifier at instruction \d+ .* from branchy\.ts:\d+:\d+: BPF program is too large\. Processed 1000001 insn\.$/);
    expect(turns).toBeGreaterThan(20);
    expect(openFdCount()).toBe(before);
  }, 180_000);

  it('loads an accepted policy with its maps, which then decides as the policy says', async () => {
    const text = branchyPolicy(2);
    const { ir } = compilePolicy({ fileName: 'branchy.ts', text });
    using loaded = await loadProgramSpecAsync(generateTestHarness(ir, { sourceText: text }));
    const payload = new Uint8Array([7, 0, 0, 40, 2]);
    // Byte 0 is 7: off = 1, and the policy answers payload[1] + payload[2] = 0 + 0; with byte 1 also 7, off = 3: 40 + 2.
    const harness = { program: loaded.program, maps: loaded.systemMaps, close: () => {}, [Symbol.dispose]: () => {} };
    expect(runHarness(harness, udpFrame({ payload }))).toEqual({ kind: 'executor', key: 0n });
    expect(runHarness(harness, udpFrame({ payload: new Uint8Array([7, 7, 0, 40, 2]) }))).toEqual({ kind: 'executor', key: 42n });
  });
});
