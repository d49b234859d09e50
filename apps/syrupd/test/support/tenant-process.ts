import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TenantUser } from './tenant-user.js';

/** A system Python other uids can run (root's PATH may lead to a pyenv shim under /root). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** A child speaking one JSON line per answer; `next()` resolves with the next line, or rejects when the child exits. */
class JsonLines {
  readonly #waiting: { resolve(value: unknown): void; reject(error: Error): void }[] = [];
  #stderr = '';
  #exited: string | undefined;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.#waiting.shift()?.resolve(JSON.parse(line)));
    child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    child.once('exit', (code, signal) => {
      this.#exited = `exited (${signal ?? code}): ${this.#stderr.trim().slice(-2000)}`;
      for (const w of this.#waiting.splice(0)) w.reject(new Error(this.#exited));
    });
  }

  next(): Promise<unknown> {
    if (this.#exited !== undefined) return Promise.reject(new Error(this.#exited));
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  send(line: string): Promise<unknown> {
    const answer = this.next();
    this.child.stdin.write(`${line}\n`);
    return answer;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs `argv` as the tenant: in the test's namespace through spawn's uid/gid, or inside `netns` through `ip netns exec` and `setpriv`. */
function spawnAs(user: TenantUser, argv: readonly string[], options: { netns?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcessWithoutNullStreams {
  const [command, ...args] = argv as [string, ...string[]];
  const common = { stdio: 'pipe' as const, ...(options.cwd === undefined ? {} : { cwd: options.cwd }), env: options.env ?? { PATH: '/usr/local/bin:/usr/bin:/bin' } };
  if (options.netns === undefined) return spawn(command, args, { ...common, uid: user.uid, gid: user.gid });
  // setpriv drops to the tenant after `ip netns exec` entered the namespace as root.
  return spawn('ip', ['netns', 'exec', options.netns, 'setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', command, ...args], common);
}

/** The tenant's UDP server (fixtures/tenant-udp-server.py): no Syrup code, SO_REUSEPORT sockets on its ports. */
export interface TenantServer {
  readonly pid: number;
  readonly ports: readonly number[];
  /** Datagrams received so far, by port. */
  received(): Promise<Record<string, number>>;
  kill(): void;
}

export async function startTenantServer(
  user: TenantUser,
  options: { repo: string; address: string; ports: readonly number[]; count: number; netns?: string },
): Promise<TenantServer> {
  const script = join(options.repo, 'apps/syrupd/test/fixtures/tenant-udp-server.py');
  const lines = new JsonLines(
    spawnAs(user, [PYTHON, script, options.address, options.ports.join(','), String(options.count)], options.netns === undefined ? {} : { netns: options.netns }),
  );
  try {
    const hello = (await lines.next()) as { pid: number; ports: number[] };
    return {
      pid: hello.pid,
      ports: hello.ports,
      received: async () => ((await lines.send('report')) as { received: Record<string, number> }).received,
      kill: () => lines.kill(),
    };
  } catch (error) {
    lines.kill();
    throw error;
  }
}

/** An answer of the tenant client (fixtures/tenant-client.ts). */
export type TenantAnswer = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly code: string; readonly message: string };

/** The tenant's application: the repository's Node with tsx, `connect()`ing to syrupd as the tenant's uid. */
export interface TenantClient {
  readonly pid: number;
  run(command: { op: string } & Record<string, unknown>): Promise<TenantAnswer>;
  kill(): void;
}

export async function startTenantClient(user: TenantUser, options: { repo: string; socketPath: string }): Promise<TenantClient> {
  const node = join(options.repo, 'node_modules/.bin/node');
  const script = join(options.repo, 'apps/syrupd/test/fixtures/tenant-client.ts');
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    // tsx applies decorator settings only to the files its tsconfig includes (the workspace sources).
    TSX_TSCONFIG_PATH: join(options.repo, 'apps/syrupd/tsconfig.tsx.json'),
    HOME: '/tmp',
  };
  const lines = new JsonLines(spawnAs(user, [node, '--conditions=source', '--import', 'tsx', script, options.socketPath], { cwd: options.repo, env }));
  try {
    const hello = (await lines.next()) as { uid: number; pid: number };
    if (hello.uid !== user.uid) throw new Error(`the tenant client runs as uid ${hello.uid}, not ${user.uid}`);
    return { pid: hello.pid, run: async (command) => (await lines.send(JSON.stringify(command))) as TenantAnswer, kill: () => lines.kill() };
  } catch (error) {
    lines.kill();
    throw error;
  }
}

/** What BPF_OBJ_GET answers the tenant for each pinned path: 'ok' or the errno name, read-only and read-write. */
export type ObjGetAnswers = Record<string, { readonly read: string; readonly readWrite: string }>;

/** Opens pinned objects as the tenant, with the bpf(2) call a program uses (fixtures/bpf-obj-get.py). */
export function objGetAs(user: TenantUser, repo: string, paths: readonly string[]): ObjGetAnswers {
  if (paths.length === 0) return {};
  const script = join(repo, 'apps/syrupd/test/fixtures/bpf-obj-get.py');
  const out = execFileSync(PYTHON, [script, ...paths], { uid: user.uid, gid: user.gid, encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
  return JSON.parse(out) as ObjGetAnswers;
}
