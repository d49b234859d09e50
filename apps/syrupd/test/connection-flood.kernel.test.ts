// One tenant uid opens as many connections to a real syrupd as its descriptor limit allows
// (20,000 where the hard limit permits) and keeps them; another uid, meanwhile, keeps asking
// `status` on fresh connections through the runtime's connect(), as `syrup status` would. The daemon keeps at most the flooder's
// --max-connections open, refuses the rest in one line, and the other tenant's requests all succeed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { startDaemonChild, type DaemonChild } from './support/daemon.js';
import { provideRepoAccess, type RepoAccess } from './support/repo-access.js';
import { createTenantUser, type TenantUser } from './support/tenant-user.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../../..');
const CONNECTIONS = 20_000;
const CAP = 64;
const PYTHON = '/usr/bin/python3';

// The flooder: blocking connects, every socket kept open; on 'report' it reads what each got.
const FLOODER = `
import json, resource, socket, sys
path, wanted, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
count = min(wanted, hard - 64)
socks, errors = [], {}
for i in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        socks.append(s)
    except OSError as e:
        errors[e.strerror] = errors.get(e.strerror, 0) + 1
        s.close()
print(json.dumps({"connected": len(socks), "errors": errors}), flush=True)
sys.stdin.readline()
# The daemon works through its accept queue after connect() returned here: poll (30 s at most)
# until no more than the cap of connections is still silent, then report.
import time
lines, pending = {}, list(socks)
for s in pending:
    s.setblocking(False)
deadline = time.monotonic() + 30
while True:
    silent = []
    for s in pending:
        try:
            data = s.recv(4096)
        except BlockingIOError:
            silent.append(s)
            continue
        except OSError as e:
            data = e.strerror.encode()
        key = data.split(b"\\n")[0].decode() if data else "(closed)"
        lines[key] = lines.get(key, 0) + 1
    pending = silent
    if len(pending) <= cap or time.monotonic() > deadline:
        break
    time.sleep(0.2)
print(json.dumps({"open": len(pending), "lines": lines}), flush=True)
sys.stdin.readline()
`;

// The other tenant: every 20 ms a fresh connect() and one status request, as \`syrup status\` does, until told to stop.
const PROBER = `
import { createInterface } from 'node:readline';
import { connect } from '@syrup/runtime';
const socketPath = process.argv[1];
const summary = { answered: 0, failed: 0, errors: {}, slowestMs: 0 };
let stop = false;
createInterface({ input: process.stdin }).once('line', () => (stop = true));
console.log(JSON.stringify({ uid: process.getuid() }));
while (!stop) {
  const started = Date.now();
  try {
    const client = await connect({ socketPath });
    try {
      await client.status();
    } finally {
      await client.close();
    }
    summary.answered++;
    summary.slowestMs = Math.max(summary.slowestMs, Date.now() - started);
  } catch (error) {
    summary.failed++;
    summary.errors[error.message] = (summary.errors[error.message] ?? 0) + 1;
  }
  await new Promise((r) => setTimeout(r, 20));
}
console.log(JSON.stringify(summary));
`;

/** A child speaking JSON lines on stdout. */
function jsonChild(child: ChildProcessWithoutNullStreams): { next(): Promise<Record<string, unknown>>; say(line: string): void; kill(): void } {
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  return {
    next: () =>
      new Promise((resolvePromise, reject) => {
        const ready = lines.shift();
        if (ready !== undefined) return resolvePromise(JSON.parse(ready));
        const onExit = () => reject(new Error(`the child exited: ${stderr.slice(-2000)}`));
        child.once('exit', onExit);
        waiting.push((line) => {
          child.off('exit', onExit);
          resolvePromise(JSON.parse(line));
        });
      }),
    say: (line) => child.stdin.write(`${line}\n`),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

describeKernel('syrupd under a connection flood from one tenant uid', { needs: ['root', 'bpf'] }, () => {
  const cleanup: (() => unknown)[] = [];
  let daemon: DaemonChild;
  let access: RepoAccess;
  let flooder: TenantUser;
  let other: TenantUser;

  beforeAll(async () => {
    access = provideRepoAccess(REPO);
    cleanup.push(() => access.release());
    flooder = createTenantUser('syrup-flood');
    cleanup.push(() => flooder.remove());
    other = createTenantUser('syrup-probe');
    cleanup.push(() => other.remove());
    daemon = await startDaemonChild({ dirMode: 0o755, args: ['--max-connections', String(CAP)] });
    cleanup.push(() => daemon.stop());
  }, 60_000);

  afterAll(async () => {
    const failures: string[] = [];
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  });

  it('keeps answering the other uid, holds at most the cap of the flooder\'s connections and refuses the rest in one line', async () => {
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp' };
    const prober = jsonChild(
      spawn(join(access.root, 'node_modules/.bin/node'), ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', PROBER, daemon.socketPath], {
        uid: other.uid,
        gid: other.gid,
        cwd: access.root,
        // tsx applies decorator settings only to the files its tsconfig includes (the workspace sources).
        env: { ...env, TSX_TSCONFIG_PATH: join(access.root, 'apps/syrupd/tsconfig.tsx.json') },
        stdio: 'pipe',
      }),
    );
    cleanup.push(() => prober.kill());
    expect(await prober.next()).toEqual({ uid: other.uid });
    const flood = jsonChild(spawn(PYTHON, ['-c', FLOODER, daemon.socketPath, String(CONNECTIONS), String(CAP)], { uid: flooder.uid, gid: flooder.gid, env, stdio: 'pipe' }));
    cleanup.push(() => flood.kill());
    const opened = (await flood.next()) as { connected: number; errors: Record<string, number> };
    expect(opened.errors).toEqual({});
    expect(opened.connected).toBeGreaterThan(19_000);

    // The daemon holds the flooder's capped connections and little else: not one descriptor per flood connection.
    const daemonPid = childPidOf(daemon.child.pid as number);
    expect(readdirSync(`/proc/${daemonPid}/fd`).length).toBeLessThan(CAP + 200);

    prober.say('stop');
    const probes = (await prober.next()) as { answered: number; failed: number; errors: Record<string, number>; slowestMs: number };
    expect(probes.errors).toEqual({});
    expect(probes.failed).toBe(0);
    expect(probes.answered).toBeGreaterThan(0);

    flood.say('report');
    const report = (await flood.next()) as { open: number; lines: Record<string, number> };
    const refusal = JSON.stringify({ v: 1, id: null, ok: false, error: { code: 'LIMIT_CONNECTIONS', message: `uid ${flooder.uid} already has ${CAP} connections open, the --max-connections limit.` } });
    // Each refused connection got the sentence (or, already read to its end, was seen closed); CAP stay open, silent.
    expect(report.open).toBe(CAP);
    expect(Object.keys(report.lines).filter((l) => l !== refusal)).toEqual([]);
    expect(report.lines[refusal]).toBe(opened.connected - CAP);
  }, 180_000);
});

/** The daemon proper: the bin wrapper runs it as its only child. */
function childPidOf(pid: number): number {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  if (children.length !== 1) throw new Error(`the syrupd wrapper ${pid} has ${children.length} children`);
  return children[0] as number;
}
