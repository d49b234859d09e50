import { readFileSync } from 'node:fs';
import { ThreadEvent } from '@syrup/core';
import { InMemoryDataMapStore, dataMapOf } from '@syrup/maps';
import { describe, expect, it } from 'vitest';
import { WorkerThreads, standardPolicyPath } from '../src/index.js';
import { compilePolicy, PolicyEvaluator } from './support/syrup.js';

describe('WorkerThreads', () => {
  it("registers worker threads with their executor so get-priority reads busy[executor] for them, and unregisters them", async () => {
    const { ir } = compilePolicy({ fileName: 'get-priority.ts', text: readFileSync(standardPolicyPath('get-priority'), 'utf8') });
    const evaluator = new PolicyEvaluator(ir);
    const workerOf = dataMapOf(evaluator.maps.get('workerOf') as InMemoryDataMapStore);
    const busy = evaluator.maps.get('busy') as InMemoryDataMapStore;
    const workers = new WorkerThreads(workerOf);
    await workers.register(300, { executor: 0 });
    await workers.register(301, { executor: 5 });
    busy.update(5, [1n]);
    const wake = (tid: number) => evaluator.evaluate({ tid, pid: 1, event: ThreadEvent.WAKEUP });
    expect(wake(300)).toEqual({ kind: 'executor', key: 0n });
    expect(wake(301)).toEqual({ kind: 'drop' });
    await workers.unregister(301);
    expect(wake(301)).toEqual({ kind: 'pass' });
  });

  it('refuses a map that is not a hash and a bad executor or thread id, in one sentence', async () => {
    const array = dataMapOf(new InMemoryDataMapStore({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'workerOf' }));
    expect(() => new WorkerThreads(array)).toThrow("the workerOf map must be a hash keyed by thread id, not kind 'array'.");
    const workers = new WorkerThreads(dataMapOf(new InMemoryDataMapStore({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'workerOf' })));
    await expect(workers.register(5, { executor: -1 })).rejects.toThrow("a worker's executor is a non-negative integer, not -1.");
    await expect(workers.register(0, { executor: 1 })).rejects.toThrow('a thread id is a positive integer, not 0.');
  });
});
