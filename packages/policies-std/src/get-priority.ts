import { definePolicy, DROP, PASS, ThreadEvent } from '@syrup/core';

/**
 * The paper's thread policy (section 5.3): threads serving GETs run ahead of threads serving
 * SCANs. `busy` is scan-avoid's map (one entry per socket, not 0 while that socket's thread
 * serves a SCAN; share it by name with the socket-select deployment). `workerOf` maps a
 * thread id to its socket index plus one, so 0 (absent) means "not a worker": the application
 * registers each worker thread with the socket it serves. A worker whose socket is busy is
 * deferred (it runs only where a CPU would otherwise idle); any other worker runs now on the
 * enclave's first CPU, ahead of deferred and unmanaged threads. Threads that are not workers
 * are left to the kernel. A blocked thread needs no decision.
 */
export default definePolicy({
  name: 'get-priority',
  input: 'thread',
  maps: {
    busy: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 },
    workerOf: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 4096 },
  },
  params: {},
  schedule(thread, { busy, workerOf }) {
    if (thread.event === ThreadEvent.BLOCKED) return PASS;
    const worker = workerOf.get(thread.tid);
    if (worker === 0) return PASS;
    return busy.get(worker - 1) !== 0 ? DROP : 0;
  },
});
