import { ThreadEvent } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { Enclave } from '../src/enclave.js';
import { GhostAgent, type DecisionRecord } from '../src/ghost-agent.js';
import { GhostError } from '../src/ghost-error.js';
import { SimulatedGhostDriver } from '../src/simulated-ghost-driver.js';
import { advanceThreadState } from '../src/thread-state.js';
import { constantPolicy, getPriority, setWorker } from './support/policies.js';

const PID = 4242;

function setup(cpus: readonly number[], evaluator = getPriority()) {
  const driver = new SimulatedGhostDriver({ cpus });
  const decisions: DecisionRecord[] = [];
  const agent = new GhostAgent(driver, new Enclave(PID, cpus), evaluator, { onDecision: (r) => decisions.push(r) });
  agent.start();
  return { driver, agent, decisions, evaluator };
}

describe('thread state machine', () => {
  it('follows ghOSt task states and refuses transitions a lost message would explain', () => {
    expect(advanceThreadState('new', 'new')).toBe('runnable');
    expect(advanceThreadState('runnable', 'on-cpu')).toBe('running');
    expect(advanceThreadState('running', 'preempted')).toBe('runnable');
    expect(advanceThreadState('running', 'yield')).toBe('runnable');
    expect(advanceThreadState('running', 'blocked')).toBe('blocked');
    expect(advanceThreadState('blocked', 'wakeup')).toBe('runnable');
    expect(advanceThreadState('blocked', 'dead')).toBe('dead');
    expect(advanceThreadState('blocked', 'on-cpu')).toBeUndefined();
    expect(advanceThreadState('runnable', 'wakeup')).toBeUndefined();
    expect(advanceThreadState('dead', 'wakeup')).toBeUndefined();
  });
});

describe('Enclave', () => {
  it('sorts its CPUs and maps core k to the k-th, k beyond the list to nothing', () => {
    const enclave = new Enclave(PID, [3, 1]);
    expect(enclave.cpus).toEqual([1, 3]);
    expect(enclave.cpuAt(0n)).toBe(1);
    expect(enclave.cpuAt(1n)).toBe(3);
    expect(enclave.cpuAt(2n)).toBeUndefined();
    expect(enclave.cpuAt(1n << 63n)).toBeUndefined();
  });

  it('refuses an empty or repeating CPU list and a bad pid, in one sentence', () => {
    expect(() => new Enclave(PID, [])).toThrow(new GhostError('GHOST_ENCLAVE_INVALID', 'an enclave needs at least one CPU.'));
    expect(() => new Enclave(PID, [1, 1])).toThrow("an enclave's CPU list names a CPU twice: 1,1.");
    expect(() => new Enclave(0, [1])).toThrow("an enclave's process id must be a positive integer, not 0.");
  });
});

describe('GhostAgent with the simulated driver', () => {
  it('runs a GET thread woken while SCAN threads hold every enclave CPU ahead of them (get-priority)', () => {
    const { driver, evaluator, decisions } = setup([0, 1]);
    setWorker(evaluator, 101, 1, 1);
    setWorker(evaluator, 102, 2, 1);
    setWorker(evaluator, 200, 3, 0);
    for (const tid of [101, 102, 200]) driver.spawn(tid);
    driver.run(101, 0);
    driver.run(102, 1);
    driver.run(200, 0);
    driver.block(200);
    driver.deliver();
    expect(driver.placementOf(101)).toEqual({ kind: 'defer' });
    expect(driver.placementOf(102)).toEqual({ kind: 'defer' });
    expect(driver.next(0)).toBe(101); // only SCANs are runnable: deferred threads still use an idle CPU

    driver.wake(200); // the datagram arrives
    driver.deliver();
    expect(decisions.at(-1)).toMatchObject({ tid: 200, event: ThreadEvent.WAKEUP, verdict: '0', outcome: 'committed' });
    expect(driver.placementOf(200)).toEqual({ kind: 'run', cpu: 0 });
    expect(driver.next(0)).toBe(200);
    expect(driver.next(1)).toBe(101);

    driver.run(200, 0);
    driver.block(200, 10_000n);
    driver.deliver();
    expect(decisions.at(-1)).toMatchObject({ tid: 200, event: ThreadEvent.BLOCKED, placement: undefined, outcome: undefined });
    expect(driver.next(0)).toBe(101);
  });

  it('does not commit a decision for a thread that blocked between the decision and the commit (stale), and decides again on the newer message', () => {
    const { driver, agent, decisions } = setup([0], constantPolicy('0'));
    driver.spawn(7);
    driver.beforeNextCommit(7, () => {
      driver.run(7, 0);
      driver.block(7);
    });
    driver.deliver();
    expect(driver.commits[0]).toEqual({ transaction: { tid: 7, barrier: 1, placement: { kind: 'run', cpu: 0 } }, outcome: 'stale' });
    expect(decisions[0]).toMatchObject({ tid: 7, seq: 1, event: ThreadEvent.NEW, outcome: 'superseded' });
    expect(driver.placementOf(7)).toBeUndefined();
    // The missed messages were read: the agent is at the thread's newest seq, and it is blocked.
    expect(agent.enclave.thread(7)).toMatchObject({ seq: 3, state: 'blocked' });
    expect(agent.stats).toMatchObject({ stale: 1, committed: 0 });

    driver.wake(7);
    driver.deliver();
    expect(driver.placementOf(7)).toEqual({ kind: 'run', cpu: 0 });
  });

  it('does not commit a decision for a thread that exited between the decision and the commit', () => {
    const { driver, agent, decisions } = setup([0], constantPolicy('0'));
    driver.spawn(8);
    driver.beforeNextCommit(8, () => driver.exit(8));
    driver.deliver();
    expect(driver.commits.map((c) => c.outcome)).toEqual(['dead']);
    expect(decisions[0]).toMatchObject({ tid: 8, outcome: 'dead' });
    driver.deliver();
    expect(agent.enclave.thread(8)).toBeUndefined();
  });

  it('reports a stale commit when the missed message has not arrived yet, and decides again when it does', () => {
    const { driver, agent, decisions } = setup([0], constantPolicy('0'));
    driver.spawn(9);
    // The kernel counted a change whose message is still in flight: polling cannot see it yet.
    let inFlight: ReturnType<typeof driver.poll> = [];
    driver.beforeNextCommit(9, () => {
      driver.run(9, 0);
      driver.preempt(9);
      inFlight = driver.poll();
    });
    driver.deliver();
    expect(decisions[0]).toMatchObject({ outcome: 'stale' });
    expect(driver.placementOf(9)).toBeUndefined();
    agent.handle(inFlight);
    expect(decisions.at(-1)).toMatchObject({ tid: 9, seq: 3, event: ThreadEvent.PREEMPTED, outcome: 'committed' });
    expect(driver.placementOf(9)).toEqual({ kind: 'run', cpu: 0 });
  });

  it('falls back to the kernel when the chosen CPU is gone, and treats core k beyond the enclave as PASS', () => {
    const offline = setup([0, 1], constantPolicy('1'));
    offline.driver.offline(1);
    offline.driver.spawn(5);
    offline.driver.deliver();
    expect(offline.driver.commits.map((c) => [c.transaction.placement.kind, c.outcome])).toEqual([
      ['run', 'cpu-gone'],
      ['kernel', 'committed'],
    ]);
    expect(offline.decisions[0]).toMatchObject({ placement: { kind: 'kernel' }, outcome: 'committed', attempts: 2 });

    const beyond = setup([0, 1], constantPolicy('2'));
    beyond.driver.spawn(6);
    beyond.driver.deliver();
    expect(beyond.driver.commits[0]?.transaction.placement).toEqual({ kind: 'kernel' });
  });

  it('ignores messages it has already seen and resynchronizes after a lost one', () => {
    const { driver, agent } = setup([0], constantPolicy('DROP'));
    driver.spawn(11);
    driver.deliver();
    const seen = driver.trace[0];
    agent.handle([seen as never]);
    expect(agent.stats.duplicates).toBe(1);
    driver.run(11, 0);
    driver.poll(); // lost: the agent never sees on-cpu
    driver.block(11);
    driver.deliver();
    expect(agent.stats.resyncs).toBe(1);
    expect(agent.enclave.thread(11)?.state).toBe('blocked');
  });

  it('demotes a running GET thread when the application marks its worker busy and asks the agent again', () => {
    const { driver, agent, evaluator } = setup([0]);
    setWorker(evaluator, 300, 0, 0);
    driver.spawn(300);
    driver.deliver();
    driver.run(300, 0);
    driver.deliver();
    expect(driver.placementOf(300)).toEqual({ kind: 'run', cpu: 0 });
    evaluator.maps.get('busy')?.update(0, [1n]); // the worker picked up a SCAN
    expect(agent.reconsider(300)).toBe(true);
    expect(driver.placementOf(300)).toEqual({ kind: 'defer' });
    expect(agent.reconsider(999)).toBe(false);
  });

  it('hands every thread back when it closes', () => {
    const { driver, agent } = setup([0], constantPolicy('0'));
    driver.spawn(1);
    driver.spawn(2);
    driver.deliver();
    expect(driver.placementOf(1)).toEqual({ kind: 'run', cpu: 0 });
    agent.close();
    expect(driver.placementOf(1)).toBeUndefined();
    expect(driver.placementOf(2)).toBeUndefined();
    expect(() => driver.commit({ tid: 1, barrier: 1, placement: { kind: 'defer' } })).toThrow('the simulated driver is closed.');
  });
});
