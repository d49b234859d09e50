import { describeKernel } from '@syrup/test-support/kernel-gate';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const DEMO_BIN = fileURLToPath(new URL('../bin/demo.mjs', import.meta.url));

interface ProcessInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly comm: string;
  readonly state: string;
  readonly cmdline: string;
}

/** Every live process (zombies included) from /proc. */
function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      found.push({ pid: Number(entry), pgid: Number(after[2]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state: after[0] ?? '?', cmdline });
    } catch {
      // Gone between readdir and read.
    }
  }
  return found;
}

const inGroup = (pgid: number): ProcessInfo[] => processes().filter((p) => p.pgid === pgid);

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

describeKernel('demo (kernel)', { needs: ['bpf', 'bpffs'] }, () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    // A failed test must not leave the demo's process group running.
    for (const child of children) {
      if (child.pid !== undefined && inGroup(child.pid).length > 0) process.kill(-child.pid, 'SIGKILL');
    }
  });

  // 'demo' is the SIGINT a `kill <pid>` sends to the demo alone; 'group' is a terminal's Ctrl-C,
  // which reaches the demo, the server and the load generator at once.
  it.each(['demo', 'group'] as const)('on SIGINT mid-run (to the %s) stops the load generator and the server and leaves no process behind', async (target) => {
    // Its own process group, so the test can see every process the demo started.
    const demo = spawn(process.execPath, [DEMO_BIN, '--quick'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(demo);
    let stderr = '';
    demo.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    demo.stdout!.resume();
    const pgid = demo.pid!;
    // Mid-run: a server and a load generator are both up.
    const running = await until(() => {
      const group = inGroup(pgid);
      return group.some((p) => p.cmdline.includes('kv-server-main.ts')) && group.some((p) => p.cmdline.includes('loadgen/main.ts'));
    }, 90_000);
    expect(running, `the demo never got to a run; stderr:\n${stderr}`).toBe(true);
    const exit = once(demo, 'exit') as Promise<[number | null, string | null]>;
    if (target === 'demo') demo.kill('SIGINT');
    else process.kill(-pgid, 'SIGINT');
    const [code] = await exit;
    expect(code).toBe(130);
    expect(stderr).toContain('demo: interrupted; the server undeployed its policy and stopped.');
    // Helpers of the children (tsx's esbuild service) notice their parent's exit on their own
    // a moment later and exit too; anything still there after that was left behind.
    const empty = await until(() => inGroup(pgid).length === 0, 5000);
    expect(empty, JSON.stringify(inGroup(pgid))).toBe(true);
  }, 150_000);
});

describe('demo without BPF privileges', () => {
  // setpriv drops every capability (and keeps root's files readable), so the probe is refused.
  const setpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!setpriv)('says what is missing in one sentence and exits non-zero', () => {
    const result = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', process.execPath, DEMO_BIN], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('demo: the demo needs root or CAP_BPF+CAP_NET_ADMIN to attach socket-select programs (it could not create a BPF map).');
    expect(result.stdout).toBe('');
  }, 60_000);
});
