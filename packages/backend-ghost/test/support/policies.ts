import { compilePolicy, PolicyEvaluator, type PolicyIr } from '@syrup/core';

/** The paper's thread policy, as the tests need it: a thread whose worker serves a SCAN is deferred, others run on the enclave's first CPU. */
export const GET_PRIORITY_SOURCE = `
import { definePolicy, DROP, PASS, ThreadEvent } from '@syrup/core';

export default definePolicy({
  name: 'get-priority-test',
  input: 'thread',
  maps: {
    busy: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 16 },
    workerOf: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1024 },
  },
  params: {},
  schedule(t, { busy, workerOf }) {
    if (t.event === ThreadEvent.BLOCKED) return PASS;
    return busy.get(workerOf.get(t.tid)) !== 0 ? DROP : 0;
  },
});
`;

export function compileThreadPolicy(text: string): PolicyIr {
  return compilePolicy({ fileName: 'policy.ts', text }).ir;
}

export function getPriority(): PolicyEvaluator {
  return new PolicyEvaluator(compileThreadPolicy(GET_PRIORITY_SOURCE));
}

/** A policy that answers `verdict` for every event. */
export function constantPolicy(verdict: string): PolicyEvaluator {
  return new PolicyEvaluator(
    compileThreadPolicy(`
import { definePolicy, PASS, DROP } from '@syrup/core';
export default definePolicy({ name: 'constant', input: 'thread', maps: {}, params: {}, schedule() { return ${verdict}; } });
`),
  );
}

/** Marks worker `index` busy (1) or free (0), and registers `tid` as serving it. */
export function setWorker(evaluator: PolicyEvaluator, tid: number, index: number, busy: 0 | 1): void {
  evaluator.maps.get('workerOf')?.update(tid, [BigInt(index)]);
  evaluator.maps.get('busy')?.update(index, [BigInt(busy)]);
}
