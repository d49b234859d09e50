// npm run bench -w @syrup/backend-ghost: the thread hook on this kernel, measured. The last
// line of output is one JSON object (see the package README for what each number means).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ThreadEvent } from '@syrup/core';
import { Enclave } from '../src/enclave.js';
import { GhostAgent, type DecisionRecord } from '../src/ghost-agent.js';
import type { GhostDriver } from '../src/ghost-driver.js';
import { StockLinuxDriver } from '../src/linux/stock-linux-driver.js';
import { SchedPolicy, SchedSyscalls } from '../src/linux/sched-syscalls.js';
import { SimulatedGhostDriver } from '../src/simulated-ghost-driver.js';
import type { GhostMessage } from '../src/thread-message.js';
import { getPriority, setWorker } from '../test/support/policies.js';
import { startServer } from '../test/support/server-process.js';

const CPU = 1;
const REQUESTS = 300;
const MARKS = 300;
const sched = new SchedSyscalls();

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
};
const summary = (values: readonly number[]) => ({ p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) });
const round = (x: number): number => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

/** CPU seconds this process has used (every thread: the agent's main thread and the ring buffer's readiness thread). */
function processCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('the bench timed out waiting for the agent');
    await sleep(5);
  }
}

// The agent runs off the enclave's CPU: every thread of this process on the others.
const others = sched.read(process.pid).cpus.filter((c) => c !== CPU);
for (const tid of readdirSync('/proc/self/task').map(Number)) sched.setAffinity(tid, others);

// 1. Reaction and wake-to-run: a GET thread woken by datagrams while SCAN hogs hold its CPU.
const server = await startServer(CPU, 2, 0);
const trace: GhostMessage[] = [];
const decisions: DecisionRecord[] = [];
const managed = new Set([...server.scan, server.get]);
const driver = await StockLinuxDriver.open({ pid: server.pid, cpus: [CPU], manages: (tid) => managed.has(tid) });
log(`rt throttling: ${driver.rtThrottling.summary}`);
const recording: GhostDriver = {
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
const evaluator = getPriority();
server.scan.forEach((tid, i) => setWorker(evaluator, tid, i + 1, 1));
setWorker(evaluator, server.get, 0, 0);
const agent = new GhostAgent(recording, new Enclave(server.pid, [CPU]), evaluator, { onDecision: (r) => decisions.push(r) });
agent.start();
let result: Record<string, unknown>;
let idle = Number.NaN;
let busyCpu = Number.NaN;
let cfsSharePercent = Number.NaN;
try {
  await until(() => server.scan.every((tid) => sched.read(tid).policy === SchedPolicy.IDLE));
  for (let i = 0; i < REQUESTS; i++) {
    await server.request();
    await sleep(2);
  }
  await sleep(50);
  const getWakeups = decisions.filter((d) => d.tid === server.get && d.event === ThreadEvent.WAKEUP && d.outcome === 'committed');
  const agentReactionUs = getWakeups.map((d) => Number(d.doneTimeNs - d.messageTimeNs) / 1000);
  const wakeToRunUs: number[] = [];
  const getTrace = trace.filter((m) => m.tid === server.get);
  getTrace.forEach((m, i) => {
    if (m.type !== 'wakeup') return;
    const ran = getTrace.slice(i + 1).find((n) => n.type === 'on-cpu');
    if (ran !== undefined) wakeToRunUs.push(Number(ran.timeNs - m.timeNs) / 1000);
  });
  log(`GET wakeups committed: ${getWakeups.length} of ${REQUESTS} requests (the others were stale: the GET had run and blocked before the commit)`);

  // 2. Mark to demotion: a worker running at GET priority is marked busy (a SCAN) and the agent asked again.
  const scan = server.scan[0] as number;
  const busy = evaluator.maps.get('busy');
  const markToDemotionUs: number[] = [];
  for (let i = 0; i < MARKS; i++) {
    busy?.update(1, [0n]);
    agent.reconsider(scan); // promoted: it runs at GET priority again
    await until(() => sched.read(scan).policy === SchedPolicy.FIFO);
    const from = decisions.length;
    const marked = process.hrtime.bigint();
    busy?.update(1, [1n]);
    agent.reconsider(scan);
    const demotedBy = () => decisions.slice(from).find((d) => d.tid === scan && d.verdict === 'DROP' && d.outcome === 'committed');
    await until(() => demotedBy() !== undefined);
    markToDemotionUs.push(Number((demotedBy() as DecisionRecord).doneTimeNs - marked) / 1000);
  }
  busy?.update(1, [1n]);

  // 3. Agent CPU while its threads are quiet, and at about 10k events/s: a thread that sleeps
  // 0.2 ms in a loop (futex waits) makes three events per round (blocked, wakeup, on-cpu).
  agent.close();
  await server[Symbol.asyncDispose]();
  const ticker = spawn('taskset', ['-c', String(CPU), process.execPath, '-e', `const a = new Int32Array(new SharedArrayBuffer(4)); const t = Number(process.env.TICK_MS); Atomics.wait(a, 0, 0, 1000); for (;;) Atomics.wait(a, 0, 0, t);`], {
    stdio: 'ignore',
    env: { ...process.env, TICK_MS: '1000000' },
  });
  let tickerAgent: GhostAgent | undefined;
  try {
    await sleep(300);
    const tickerPid = ticker.pid as number;
    const tickerDriver = await StockLinuxDriver.open({ pid: tickerPid, cpus: [CPU], manages: (tid) => tid === tickerPid });
    tickerAgent = new GhostAgent(tickerDriver, new Enclave(tickerPid, [CPU]), getPriority());
    tickerAgent.start();
    await sleep(200);
    let cpu0 = processCpuSeconds();
    let events0 = tickerAgent.stats.messages;
    await sleep(2000);
    idle = ((processCpuSeconds() - cpu0) / 2) * 100;
    log(`agent CPU idle: ${round(idle)}% (${tickerAgent.stats.messages - events0} events in 2 s)`);
  } finally {
    tickerAgent?.close();
    ticker.kill('SIGKILL');
  }
  const busyTicker = spawn('taskset', ['-c', String(CPU), process.execPath, '-e', `const a = new Int32Array(new SharedArrayBuffer(4)); for (;;) Atomics.wait(a, 0, 0, 0.2);`], { stdio: 'ignore' });
  try {
    await sleep(300);
    const tickerPid = busyTicker.pid as number;
    const tickerDriver = await StockLinuxDriver.open({ pid: tickerPid, cpus: [CPU], manages: (tid) => tid === tickerPid });
    tickerAgent = new GhostAgent(tickerDriver, new Enclave(tickerPid, [CPU]), getPriority());
    tickerAgent.start();
    await sleep(300);
    const cpu0 = processCpuSeconds();
    const events0 = tickerAgent.stats.messages;
    await sleep(3000);
    busyCpu = ((processCpuSeconds() - cpu0) / 3) * 100;
    const eventsPerSec = (tickerAgent.stats.messages - events0) / 3;
    log(`agent CPU: ${round(busyCpu)}% at ${Math.round(eventsPerSec)} events/s`);
  } finally {
    tickerAgent?.close();
    busyTicker.kill('SIGKILL');
  }

  // 5. What a thread policy leaves to other users' CFS threads: a SCHED_FIFO hog (a committed
  // thread) and a CFS hog on the enclave's CPU; the CFS hog's share is what RT throttling leaves.
  const fifoHog = spawn('taskset', ['-c', String(CPU), process.execPath, '-e', 'for (;;);'], { stdio: 'ignore' });
  const cfsHog = spawn('taskset', ['-c', String(CPU), process.execPath, '-e', 'for (;;);'], { stdio: 'ignore' });
  try {
    await sleep(300);
    sched.setPolicy(fifoHog.pid as number, SchedPolicy.FIFO, 1);
    const ticks = (pid: number) => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return Number(f[11]) + Number(f[12]);
    };
    const t0 = ticks(cfsHog.pid as number);
    await sleep(3000);
    cfsSharePercent = ((ticks(cfsHog.pid as number) - t0) / 300) * 100;
    log(`CFS share left next to a SCHED_FIFO thread on CPU ${CPU}: ${round(cfsSharePercent)}% (RT throttling)`);
  } finally {
    fifoHog.kill('SIGKILL');
    cfsHog.kill('SIGKILL');
  }

  // 4. Decisions per second of the agent loop itself (state machine, policy, transaction) over the simulated driver.
  const simulated = new SimulatedGhostDriver({ cpus: [0, 1] });
  const simEvaluator = getPriority();
  setWorker(simEvaluator, 1, 1, 1);
  setWorker(simEvaluator, 2, 0, 0);
  const simAgent = new GhostAgent(simulated, new Enclave(1, [0, 1]), simEvaluator);
  simAgent.start();
  simulated.spawn(1);
  simulated.spawn(2);
  simulated.deliver();
  const rounds = 100_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    simulated.run(1, 0);
    simulated.preempt(1);
    simulated.deliver();
  }
  const decisionsPerSec = Math.round(rounds / (Number(process.hrtime.bigint() - started) / 1e9));
  simAgent.close();

  result = {
    agentReactionUs: summary(agentReactionUs),
    wakeToRunUs: summary(wakeToRunUs),
    markToDemotionUs: summary(markToDemotionUs),
    decisionsPerSec,
    agentCpuPercent: { idle: round(idle), at10kEventsPerSec: round(busyCpu) },
  };
} finally {
  agent.close();
  await server[Symbol.asyncDispose]();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
