/**
 * Issue #15's fairness figures: how much slower tenant A's deploy and `status` get while
 * tenant B floods the same syrupd. A is root (the bench itself), B an unprivileged uid made
 * for the run (tenant-b-flood.py): B keeps deploys of a policy the verifier works on for
 * seconds (test/fixtures/branchy-offsets.ts) and disasms of a policy just under the front
 * end's limits going on several connections, and holds as many more connections as the
 * daemon lets it. A's deploy (round robin on A's own socket group, then undeployed) and A's
 * `status` (on a fresh connection, as `syrup status` does) are timed unloaded, then under B's
 * flood, in the same rounds spread over the same time; the figures are medians and the ratios
 * loaded over unloaded (the target is 2 at most). $FAIRNESS_B_FLOOD=disasm makes every one of
 * B's working connections send disasms instead (back to back: code generation, which the eBPF
 * backend runs on its worker threads, and listings of 20000 lines).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DaemonChild } from '../test/support/daemon.js';
import { createTenantUser } from '../test/support/tenant-user.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const ROUNDS = 15;
const STATUS_PER_ROUND = 3;
const ROUND_PAUSE_MS = 1000;
/** B's connections sending work, half deploys of the verifier-bound policy, half disasms. */
const B_WORKERS = 8;
/** B's connection flood; the daemon keeps its --max-connections of them. */
const B_IDLE_CONNECTIONS = 5000;
/** `mixed` (verifier-bound deploys and near-limit disasms) or `disasm` (disasms only). */
const B_FLOOD = process.env['FAIRNESS_B_FLOOD'] === 'disasm' ? 'disasm' : 'mixed';
/** Time B's flood gets to reach the verifier and the compile worker before A is timed. */
const B_HEAD_START_MS = 3000;

export interface TenantFairness {
  readonly deployUnloadedMs: number;
  readonly deployLoadedMs: number;
  readonly deployRatio: number;
  readonly statusUnloadedMs: number;
  readonly statusLoadedMs: number;
  readonly statusRatio: number;
  /** What B's flood got: the daemon's answers by op and code, and its connection flood. */
  readonly tenantB: Record<string, unknown>;
}

/** One request on a fresh connection; its result, or an Error with the daemon's sentence. */
async function request(socketPath: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const socket = createConnection(socketPath);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.setEncoding('utf8');
    socket.write(`${JSON.stringify({ v: 1, id: 1, ...body })}\n`);
    let text = '';
    for await (const chunk of socket) {
      text += chunk as string;
      const nl = text.indexOf('\n');
      if (nl === -1) continue;
      const answer = JSON.parse(text.slice(0, nl)) as { ok: boolean; result?: Record<string, unknown>; error?: { message: string } };
      if (!answer.ok) throw new Error(`syrupd refused '${String(body['op'])}': ${answer.error?.message ?? '?'}`);
      return answer.result ?? {};
    }
    throw new Error(`syrupd closed the connection before answering '${String(body['op'])}'`);
  } finally {
    socket.destroy();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted[Math.floor(sorted.length / 2)] as number;
  return Math.round(middle * 10) / 10;
}

/** A child that prints JSON lines; `next()` is the next one. */
function jsonLines(child: ChildProcessWithoutNullStreams): () => Promise<Record<string, unknown>> {
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  const early: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter === undefined) early.push(parsed);
    else waiter(parsed);
  });
  return () =>
    new Promise((resolve, reject) => {
      const ready = early.shift();
      if (ready !== undefined) return resolve(ready);
      if (child.exitCode !== null) return reject(new Error(`child exited: ${stderr}`));
      waiting.push(resolve);
      child.once('exit', () => reject(new Error(`child exited: ${stderr}`)));
    });
}

/**
 * A's figures: ROUNDS rounds, a second apart, of one deploy (undeployed again) and
 * STATUS_PER_ROUND statuses, so that the loaded figures sample every phase of B's flood (a
 * verifier run takes seconds) rather than one moment of it.
 */
async function timeTenantA(socketPath: string, port: number, pid: number, policy: { fileName: string; text: string }): Promise<{ deployMs: number; statusMs: number }> {
  const deploys: number[] = [];
  const statuses: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const deployed = await request(socketPath, { op: 'deploy', hook: 'socket-select', policy, target: { port, pid }, params: { SOCKETS: 2 } });
    deploys.push(performance.now() - started);
    await request(socketPath, { op: 'undeploy', deployment: deployed['id'] });
    for (let i = 0; i < STATUS_PER_ROUND; i++) {
      const asked = performance.now();
      await request(socketPath, { op: 'status' });
      statuses.push(performance.now() - asked);
    }
    await sleep(ROUND_PAUSE_MS);
  }
  return { deployMs: median(deploys), statusMs: median(statuses) };
}

/** A policy just under the front end's limits: a 1000-iteration unrolled loop of payload reads. */
function nearLimitPolicy(): { fileName: string; text: string } {
  return {
    fileName: 'near-limit.ts',
    text: [
      "import { definePolicy } from '@syrup/core';",
      "export default definePolicy({ name: 'near-limit', input: 'udp', maps: {}, params: {},",
      '  schedule(pkt) { let x = 0; for (let i = 0; i < 1000; i++) { x += pkt.payload.u8(i); } return x; } });',
    ].join('\n'),
  };
}

/** Runs the whole comparison against `daemon`, whose socket directory other uids must be able to search. */
export async function measureTenantFairness(daemon: DaemonChild): Promise<TenantFairness> {
  const repo = join(here, '../../..');
  const roundRobin = { fileName: 'round-robin.ts', text: readFileSync(join(repo, 'packages/policies-std/src/round-robin.ts'), 'utf8') };
  const heavy = { fileName: 'branchy-offsets.ts', text: readFileSync(join(here, '../test/fixtures/branchy-offsets.ts'), 'utf8') };
  const cleanup: (() => void)[] = [];
  try {
    // A's socket group: two SO_REUSEPORT sockets on one loopback port, in a process of A's (root's).
    const server = spawn(PYTHON, [join(here, '../test/fixtures/tenant-udp-server.py'), '127.0.0.1', '0', '2']);
    cleanup.push(() => server.kill('SIGKILL'));
    const group = (await jsonLines(server)()) as { pid: number; ports: number[] };
    const port = group.ports[0] as number;
    // Warm-up, so the unloaded figures are not the daemon's first use of the code.
    await timeTenantA(daemon.socketPath, port, group.pid, roundRobin);
    const unloaded = await timeTenantA(daemon.socketPath, port, group.pid, roundRobin);

    const user = createTenantUser('syrbench');
    cleanup.push(() => user.remove());
    const flood = spawn(PYTHON, ['-c', readFileSync(join(here, 'tenant-b-flood.py'), 'utf8'), daemon.socketPath, String(B_WORKERS), String(B_IDLE_CONNECTIONS), B_FLOOD], {
      uid: user.uid,
      gid: user.gid,
      env: { PATH: '/usr/bin:/bin' },
    });
    cleanup.unshift(() => flood.kill('SIGKILL'));
    const next = jsonLines(flood);
    flood.stdin.write(`${JSON.stringify({ heavy, bomb: nearLimitPolicy() })}\n`);
    const ready = await next();
    await sleep(B_HEAD_START_MS);
    const loaded = await timeTenantA(daemon.socketPath, port, group.pid, roundRobin);
    flood.stdin.end();
    const report = await next();
    return {
      deployUnloadedMs: unloaded.deployMs,
      deployLoadedMs: loaded.deployMs,
      deployRatio: Math.round((loaded.deployMs / unloaded.deployMs) * 100) / 100,
      statusUnloadedMs: unloaded.statusMs,
      statusLoadedMs: loaded.statusMs,
      statusRatio: Math.round((loaded.statusMs / unloaded.statusMs) * 100) / 100,
      tenantB: { flood: B_FLOOD, workers: B_WORKERS, idleConnectionsTried: B_IDLE_CONNECTIONS, ...ready, ...report },
    };
  } finally {
    // The flood first (its processes run as the user), then A's server, then the account.
    for (const step of cleanup) {
      try {
        step();
      } catch {
        // Best effort: a step that fails does not keep the others from running.
      }
    }
  }
}
