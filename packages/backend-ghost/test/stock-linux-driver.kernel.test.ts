import { ThreadEvent } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Enclave } from '../src/enclave.js';
import { GhostAgent, type DecisionRecord } from '../src/ghost-agent.js';
import type { GhostDriver } from '../src/ghost-driver.js';
import { StockLinuxDriver } from '../src/linux/stock-linux-driver.js';
import { SchedPolicy, SchedSyscalls, type ThreadSchedule } from '../src/linux/sched-syscalls.js';
import { SimulatedGhostDriver } from '../src/simulated-ghost-driver.js';
import { threadEventOf, type GhostMessage } from '../src/thread-message.js';
import { getPriority, setWorker } from './support/policies.js';
import { ranAhead, startServer, type ServerProcess } from './support/server-process.js';

/** The enclave's CPU: the last one, so the test's own process mostly runs elsewhere. */
const CPU = Math.max(0, ...[0, 1].filter((c) => c < (globalThis.navigator?.hardwareConcurrency ?? 1)));
const sched = new SchedSyscalls();
const AGENT_FIXTURE = fileURLToPath(new URL('./fixtures/agent-process.ts', import.meta.url));

/** Starts an agent running get-priority over the fixture's workers: SCANs busy, GET not. */
async function deploy(server: ServerProcess, record?: GhostMessage[]) {
  const managed = new Set([...server.scan, server.get]);
  const driver = await StockLinuxDriver.open({ pid: server.pid, cpus: [CPU], manages: (tid) => managed.has(tid) });
  const evaluator = getPriority();
  server.scan.forEach((tid, i) => setWorker(evaluator, tid, i + 1, 1));
  setWorker(evaluator, server.get, 0, 0);
  const decisions: DecisionRecord[] = [];
  const agent = new GhostAgent(record === undefined ? driver : recording(driver, record), new Enclave(server.pid, [CPU]), evaluator, { onDecision: (r) => decisions.push(r) });
  agent.start();
  return { driver, agent, decisions, evaluator };
}

/** Passes a driver's messages on and keeps a copy (the trace a simulated run replays). */
function recording(driver: GhostDriver, trace: GhostMessage[]): GhostDriver {
  return {
    name: driver.name,
    start: (on) => driver.start((batch) => (trace.push(...batch), on(batch))),
    poll: () => {
      const batch = driver.poll();
      trace.push(...batch);
      return batch;
    },
    commit: (t) => driver.commit(t),
    release: (tid) => driver.release(tid),
    close: () => driver.close(),
    [Symbol.dispose]: () => driver.close(),
  };
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const schedules = (tids: readonly number[]): ThreadSchedule[] => tids.map((tid) => sched.read(tid));
const comparable = (s: ThreadSchedule) => ({ policy: s.policy, priority: s.priority, nice: s.nice, cpus: s.cpus });

/**
 * The agent must run outside the enclave: a CFS agent on a CPU where a SCHED_FIFO thread
 * works cannot react until that thread blocks. Every thread of this process (the readiness
 * poller's included) moves to the other CPUs while a test runs.
 */
function pinThisProcessOutside(cpu: number): () => void {
  const tids = readdirSync('/proc/self/task').map(Number);
  const saved = tids.map((tid) => [tid, sched.read(tid).cpus] as const);
  const others = saved[0]?.[1].filter((c) => c !== cpu) ?? [];
  if (others.length > 0) for (const [tid] of saved) sched.setAffinity(tid, others);
  return () => {
    for (const [tid, cpus] of saved) {
      try {
        sched.setAffinity(tid, cpus);
      } catch {
        // a worker thread that ended meanwhile
      }
    }
  };
}

describeKernel('StockLinuxDriver', { needs: ['root', 'bpf', 'btf', 'raw-tracepoint', 'sched-fifo'] }, () => {
  let restoreAffinity: (() => void) | undefined;
  beforeEach(() => {
    restoreAffinity = pinThisProcessOutside(CPU);
  });
  afterEach(() => restoreAffinity?.());

  it('runs a GET thread woken by a datagram ahead of CPU-hog SCAN threads under get-priority, and gives every thread back on close', async () => {
    await using server = await startServer(CPU);
    const threads = [...server.scan, server.get];
    const before = schedules(threads);
    // Under the kernel's scheduler alone the SCANs share the CPU with the GET while it works.
    const shared = await server.request();
    expect(Math.max(...shared.scanProgress)).toBeGreaterThan(0);

    const trace: GhostMessage[] = [];
    const { driver, agent, decisions, evaluator } = await deploy(server, trace);
    try {
      expect(driver.rtThrottling.summary).toMatch(/SCHED_FIFO|RT throttling/);
      await until('both SCAN threads are deferred', () => server.scan.every((tid) => sched.read(tid).policy === SchedPolicy.IDLE));
      const priority = await server.request();
      expect(ranAhead(priority.scanProgress, shared.scanProgress), `SCAN progress ${priority.scanProgress.join(',')} with get-priority, ${shared.scanProgress.join(',')} without`).toBe(true);
      expect(comparable(sched.read(server.get))).toMatchObject({ policy: SchedPolicy.FIFO, cpus: [CPU] });
      // The reply can overtake the ring buffer's wakeup of this process: wait for the agent to have heard the GET's wakeup.
      await until('the agent decided on the GET thread\'s wakeup', () => decisions.some((d) => d.tid === server.get && d.event === ThreadEvent.WAKEUP));
      expect(decisions.find((d) => d.tid === server.get && d.event === ThreadEvent.WAKEUP)).toMatchObject({ verdict: '0', placement: { kind: 'run', cpu: CPU } });

      // The same trace through the simulated driver gets the same verdicts from the same policy and maps.
      const simulated = new SimulatedGhostDriver({ cpus: [CPU] });
      const replayed: DecisionRecord[] = [];
      const replay = getPriority();
      for (const [name, store] of evaluator.maps) {
        for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) replay.maps.get(name)?.update(key, store.lookup(key) as bigint[]);
      }
      const simulatedAgent = new GhostAgent(simulated, new Enclave(server.pid, [CPU]), replay, { onDecision: (r) => replayed.push(r) });
      simulatedAgent.start();
      const recorded = [...trace];
      for (const message of recorded) simulated.replay(message);
      simulated.deliver();
      // Decisions are keyed by the message they answer. The real run also has retries after stale
      // commits (kernel timing decides which), which the replay has no reason to repeat.
      const byMessage = (list: readonly DecisionRecord[]) => new Map(list.map((d) => [`${d.tid}/${d.seq}/${d.event}`, d.verdict]));
      const real = byMessage(decisions);
      const simulatedVerdicts = byMessage(replayed);
      // Messages the policy hears, less those an agent drops as already seen (a discovered thread's
      // `new` can carry the seq of a record the programs wrote in the same instant).
      const lastSeq = new Map<number, number>();
      const answered = recorded
        .filter((m) => {
          const fresh = m.seq > (lastSeq.get(m.tid) ?? 0);
          if (fresh) lastSeq.set(m.tid, m.seq);
          return fresh && threadEventOf(m.type) !== undefined;
        })
        .map((m) => `${m.tid}/${m.seq}/${threadEventOf(m.type)}`);
      expect(answered).toContain(`${server.get}/${decisions.find((d) => d.tid === server.get && d.event === ThreadEvent.WAKEUP)?.seq}/${ThreadEvent.WAKEUP}`);
      for (const key of answered) {
        expect(simulatedVerdicts.get(key), key).toBeDefined();
        if (real.has(key)) expect(simulatedVerdicts.get(key), key).toBe(real.get(key));
      }
      simulatedAgent.close();
      // A class change reaches the thread at its next wakeup: the application marks the GET's worker busy (a SCAN).
      const wokenAt = (from: number, verdict: string) => () =>
        decisions.slice(from).some((d) => d.tid === server.get && d.event === ThreadEvent.WAKEUP && d.verdict === verdict && d.outcome === 'committed');
      evaluator.maps.get('busy')?.update(0, [1n]);
      let from = decisions.length;
      await server.request();
      await until('the agent deferred the GET thread at its wakeup', wokenAt(from, 'DROP'));
      expect(sched.read(server.get).policy).toBe(SchedPolicy.IDLE);
      evaluator.maps.get('busy')?.update(0, [0n]);
      from = decisions.length;
      await server.request();
      await until('the agent promoted the GET thread again at its wakeup', wokenAt(from, '0'));
      expect(comparable(sched.read(server.get))).toMatchObject({ policy: SchedPolicy.FIFO, cpus: [CPU] });

    } finally {
      agent.close();
    }
    expect(schedules(threads).map(comparable)).toEqual(before.map(comparable));
  });

  it('refuses a decision for a thread that blocked or exited after it was made (stale, dead), and leaves the thread as it was', async () => {
    await using server = await startServer(CPU, 1);
    const managed = new Set([server.get, ...server.scan]);
    const driver = await StockLinuxDriver.open({ pid: server.pid, cpus: [CPU], manages: (tid) => managed.has(tid) });
    try {
      const before = sched.read(server.get);
      const barrier = driver.seqOf(server.get) as number;
      expect(barrier).toBeGreaterThan(0);
      await server.request(); // the GET thread wakes, runs and blocks again: its seq moves past the decision's
      expect(driver.seqOf(server.get)).toBeGreaterThan(barrier);
      expect(driver.commit({ tid: server.get, barrier, placement: { kind: 'run', cpu: CPU } })).toBe('stale');
      expect(comparable(sched.read(server.get))).toEqual(comparable(before));

      const scan = server.scan[0] as number;
      const scanBarrier = driver.seqOf(scan) as number;
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGKILL');
      await exited;
      expect(driver.commit({ tid: scan, barrier: scanBarrier, placement: { kind: 'run', cpu: CPU } })).toBe('dead');
      expect(driver.savedSchedules().size).toBe(0);
    } finally {
      driver.close();
    }
  });

  it('gives every managed thread back within 1 s when the agent\'s process is SIGKILLed (the keeper process does it)', async () => {
    await using server = await startServer(CPU);
    const threads = [...server.scan, server.get];
    const before = schedules(threads).map(comparable);
    const agent = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', AGENT_FIXTURE, String(server.pid), String(CPU), String(server.get), ...server.scan.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url)) },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        agent.stdout?.once('data', () => resolve());
        agent.once('exit', (code) => reject(new Error(`the agent process exited with ${String(code)}`)));
      });
      await until('the agent deferred the SCANs', () => server.scan.every((tid) => sched.read(tid).policy === SchedPolicy.IDLE), 10_000);
      const exited = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      await until('every thread has its scheduling back', () => JSON.stringify(schedules(threads).map(comparable)) === JSON.stringify(before), 1000);
      expect(Date.now() - killedAt).toBeLessThan(1000);
    } finally {
      if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    }
  });
});
