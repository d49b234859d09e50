/**
 * The memory a pipelining client that never reads can make syrupd hold (issue #15, part 4).
 * Starts a real syrupd child (root: it prepares a pin root on bpffs), reads its resident set
 * idle, then floods it from one connection with `list` requests (1,000,000 unless
 * $FLOOD_REQUESTS says otherwise) without ever reading an answer, sampling the daemon's RSS: the
 * client writes them all at once, as a hostile one would, and waits (60 s at most) until the
 * daemon has taken them or has taken nothing for 10 s. Then it closes the client, waits 10 s
 * and reads the RSS again. Meanwhile a second connection asks `status` every second, to show
 * the daemon still answers others.
 *
 * "Idle" is the daemon at rest after it served WARM_UP_REQUESTS `list` requests to a client that
 * reads its answers (the RSS before that, `coldMiB`, is printed too).
 *
 * Then the fairness figures (tenant-fairness.ts): tenant A's deploy and `status` timed alone and
 * while tenant B, another uid, floods the daemon with verifier-bound deploys, near-limit
 * disasms and connections; medians, and their ratios loaded over unloaded.
 *
 * Arguments go on to syrupd (e.g. `-- --max-unread-reply-bytes 1048576`). The last line printed
 * is one JSON object `{idleMiB, peakMiB, afterMiB, deployUnloadedMs, deployLoadedMs, deployRatio,
 * statusUnloadedMs, statusLoadedMs, statusRatio}`; the lines before it say how far the floods got.
 */
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemonChild } from '../test/support/daemon.js';
import { measureTenantFairness } from './tenant-fairness.js';

const REQUESTS = Number(process.env['FLOOD_REQUESTS'] ?? 1_000_000);
const FLOOD_LIMIT_MS = 60_000;
/** The flood counts as blocked by the daemon when the daemon has taken none of the client's bytes for this long. */
const STALL_MS = 10_000;
const SETTLE_MS = 10_000;
const BATCH = 1000;
const WARM_UP_REQUESTS = 20_000;

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (line === undefined) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Math.round((Number(line.replace(/\D+/g, '')) / 1024) * 10) / 10;
}

async function connected(path: string): Promise<Socket> {
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** One request on a fresh connection; its answer's result. */
async function ask(path: string, op: string): Promise<Record<string, unknown>> {
  const socket = await connected(path);
  try {
    socket.setEncoding('utf8');
    socket.write(`${JSON.stringify({ v: 1, id: 1, op })}\n`);
    let text = '';
    for await (const chunk of socket) {
      text += chunk as string;
      const nl = text.indexOf('\n');
      if (nl !== -1) {
        const answer = JSON.parse(text.slice(0, nl)) as { ok: boolean; result?: Record<string, unknown>; error?: { message: string } };
        if (!answer.ok) throw new Error(`syrupd refused '${op}': ${answer.error?.message ?? '?'}`);
        return answer.result ?? {};
      }
    }
    throw new Error(`syrupd closed the connection before answering '${op}'`);
  } finally {
    socket.destroy();
  }
}

function requests(from: number, count: number): string {
  let text = '';
  for (let id = from; id < from + count; id++) text += `{"v":1,"id":${id},"op":"list"}\n`;
  return text;
}

/** `count` `list` requests pipelined on one connection by a client that reads every answer. */
async function wellBehaved(path: string, count: number): Promise<void> {
  const socket = await connected(path);
  try {
    socket.write(requests(1, count));
    let answers = 0;
    for await (const chunk of socket) {
      for (const byte of chunk as Buffer) if (byte === 10) answers++;
      if (answers >= count) return;
    }
    throw new Error(`syrupd closed the warm-up connection after ${answers} of ${count} answers`);
  } finally {
    socket.destroy();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('flood.bench: run it as root: syrupd prepares its pin root on bpffs.\n');
    process.exit(2);
  }
  // The socket's directory is searchable by others: tenant B of the fairness part is another uid.
  const daemon = await startDaemonChild({ dirMode: 0o755, args: process.argv.slice(2) });
  let flood: Socket | undefined;
  try {
    // The bin wrapper runs the daemon in a child of its own: the daemon says which process it is.
    const pid = Number((await ask(daemon.socketPath, 'status'))['pid']);
    const coldMiB = rssMiB(pid);
    // Idle means warm: the same traffic from a client that reads its answers, first, so the flood's
    // figures are what the flood holds and not the daemon's first use of the code (JIT, heap growth).
    await wellBehaved(daemon.socketPath, WARM_UP_REQUESTS);
    await sleep(SETTLE_MS);
    const idleMiB = rssMiB(pid);
    let peakMiB = idleMiB;
    const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, rssMiB(pid))), 100);

    const probes = { answered: 0, failed: 0, slowestMs: 0 };
    const prober = setInterval(() => {
      const started = Date.now();
      ask(daemon.socketPath, 'status').then(
        () => {
          probes.answered++;
          probes.slowestMs = Math.max(probes.slowestMs, Date.now() - started);
        },
        () => probes.failed++,
      );
    }, 1000);

    // The flood: nothing ever reads this socket.
    flood = await connected(daemon.socketPath);
    flood.pause();
    flood.on('error', () => undefined);
    // A hostile client does not wait for 'drain': all the requests are written at once, and what the
    // kernel does not take waits in the client's own memory.
    const started = Date.now();
    let floodBytes = 0;
    for (let from = 1; from <= REQUESTS; from += BATCH) {
      const text = requests(from, Math.min(BATCH, REQUESTS - from + 1));
      floodBytes += text.length;
      flood.write(text);
      if (from % (50 * BATCH) === 1) await sleep(0);
    }
    const written = REQUESTS;
    // Then it waits, for the daemon to take them all or to stop taking them (backpressure), within the time limit.
    let stalled = false;
    let left = flood.writableLength;
    let moved = Date.now();
    while (flood.writableLength > 0 && Date.now() - started < FLOOD_LIMIT_MS) {
      await sleep(500);
      if (flood.writableLength !== left) {
        left = flood.writableLength;
        moved = Date.now();
      } else if (Date.now() - moved >= STALL_MS) {
        stalled = true;
        break;
      }
    }
    const floodMs = Date.now() - started;
    // Requests the client wrote that never left it: the daemon's backpressure, held in the client's memory.
    const heldByClient = Math.round((flood.writableLength / floodBytes) * REQUESTS);
    await sleep(1000);
    clearInterval(prober);
    clearInterval(sampler);
    peakMiB = Math.max(peakMiB, rssMiB(pid));
    flood.destroy();
    flood = undefined;
    await sleep(SETTLE_MS);
    const afterMiB = rssMiB(pid);
    process.stdout.write(
      `${JSON.stringify({ coldMiB, warmUpRequests: WARM_UP_REQUESTS, requestsWritten: written, requestsStillInClient: heldByClient, floodMs, blockedByDaemon: stalled, statusProbes: probes, syrupdArgs: process.argv.slice(2) })}\n`,
    );
    const { tenantB, ...fairness } = await measureTenantFairness(daemon);
    process.stdout.write(`${JSON.stringify({ tenantB })}\n`);
    process.stdout.write(`${JSON.stringify({ idleMiB, peakMiB, afterMiB, ...fairness })}\n`);
  } finally {
    flood?.destroy();
    await daemon.stop();
  }
}

await main();
