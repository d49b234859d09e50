import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethNamespaces, type VethNamespaces } from '@syrup/test-support/veth-namespaces';
import { nativeSyscalls } from '../../../packages/backend-ebpf/src/syscalls/native-syscalls.js';
import { connectUdp, incomingCpu, payloadOf, receiveWaiting, sockaddrIn, udpSocketIn, waitUntil } from '../../../packages/backend-ebpf/test/hooks/xdp/xdp-test-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI_DIR = join(here, '..');
const REPO = join(here, '../../..');
const NODE = join(REPO, 'node_modules/.bin/node');
const SYRUP_BIN = join(CLI_DIR, 'bin/syrup.mjs');
const RECEIVER = join(here, 'fixtures/xsk-receiver.ts');
/** The executor is the payload's first u32, so the sender picks it (policy text only: the CLI reads the file). */
const BY_FIRST_WORD = join(REPO, 'packages/backend-ebpf/test/hooks/xdp/fixtures/by-first-word.ts');
const ENV = { ...process.env, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` };

const XSK_PORT = 41_900;
const CPU_PORT = 41_901;
const SRC_PORT = 42_900;
/** Which executor each datagram asks for: socket k of the receiver, or CPU k. */
const CHOICES = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];

/** Runs `syrup ...args` as a user would, from the CLI package. */
function syrup(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(NODE, [SYRUP_BIN, ...args], { cwd: CLI_DIR, env: ENV, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Sends CHOICES' datagrams (payloadOf: choice, then the sequence number) from `ns`, one at a time, from SRC_PORT. */
function sendChoices(ns: string, host: string, port: number): void {
  const datagrams = CHOICES.map((_, seq) => [...payloadOf(seq, CHOICES)]);
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const all = ${JSON.stringify(datagrams)};
    let i = 0;
    s.bind(${SRC_PORT}, () => {
      const next = () => { if (i === all.length) { s.close(); return; } s.send(Buffer.from(all[i++]), ${port}, ${JSON.stringify(host)}, () => setTimeout(next, 5)); };
      next();
    });`;
  const result = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`the sender failed: ${result.stderr}`);
}

describeKernel('syrup deploy --target: AF_XDP executors and CPU lists of the XDP hooks, through syrupd', { needs: ['bpf', 'bpffs', 'netns', 'xdp-skb', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let dir: string;
  let socketPath: string;
  let pinRoot: string;
  let daemon: ChildProcess | undefined;
  let daemonExit: Promise<number | null> = Promise.resolve(null);
  let pair: VethNamespaces | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-cli-xdp-'));
    socketPath = join(dir, 'syrupd.sock');
    pinRoot = join('/sys/fs/bpf', basename(dir));
    pair = createVethNamespaces();
    daemon = spawn(NODE, [SYRUP_BIN, 'daemon', '--socket', socketPath, '--pin-root', pinRoot, '--state-file', join(dir, 'state.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => daemon?.once('exit', (code) => resolve(code)));
    daemonExit = exited;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: daemon!.stdout! }).on('line', (line) => line.includes('syrupd listening') && resolve());
      void exited.then(() => reject(new Error('syrup daemon exited before listening')));
    });
  }, 60_000);

  afterAll(async () => {
    daemon?.kill('SIGTERM');
    await daemonExit;
    pair?.remove();
    rmSync(dir, { recursive: true, force: true });
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it("xdp-skb with --target xskPid=P: each datagram reaches the receiver's socket the policy chose, in ascending fd order, and the deployment ends with P", async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA } = pair;
    const require = createRequire(import.meta.url);
    const receiver = spawn(NODE, ['--conditions=source', '--import', pathToFileURL(require.resolve('tsx')).href, RECEIVER, ifA, nsA, '2'], {
      env: { ...ENV, TSX_TSCONFIG_PATH: join(REPO, 'apps/syrupd/tsconfig.tsx.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => receiver.once('exit', () => resolve()));
    let id: string | undefined;
    try {
      const lines: Interface = createInterface({ input: receiver.stdout! });
      const got: { fd: number; seq: number }[] = [];
      const hello = await new Promise<{ pid: number; fds: number[] }>((resolve, reject) => {
        lines.on('line', (line) => {
          const message = JSON.parse(line) as { ready?: boolean; pid: number; fds: number[]; fd: number; seq: number };
          if (message.ready === true) resolve(message);
          else got.push(message);
        });
        void exited.then(() => reject(new Error('the AF_XDP receiver exited before it was ready')));
      });
      expect(hello.fds).toHaveLength(2);

      const deployed = syrup('deploy', BY_FIRST_WORD, '--hook', 'xdp-skb', '--target', `interface=${ifA}`, '--target', `netns=${nsA}`, '--target', `xskPid=${hello.pid}`, '--target', `port=${XSK_PORT}`, '--socket', socketPath, '--json');
      expect(deployed.stderr).toBe('');
      expect(deployed.code).toBe(0);
      const info = JSON.parse(deployed.stdout) as { id: string; target: unknown };
      id = info.id;
      expect(info.target).toEqual({ interface: ifA, port: XSK_PORT, extra: { netns: nsA, xskPid: hello.pid } });

      sendChoices(nsB, ipA, XSK_PORT);
      expect(await waitUntil(() => got.length >= CHOICES.length, 10_000)).toBe(true);
      // Executor k is the receiver's socket with the k-th lowest fd.
      const byFd = [...hello.fds].sort((a, b) => a - b);
      const landed = got.sort((a, b) => a.seq - b.seq).map((g) => byFd.indexOf(g.fd));
      expect(got.map((g) => g.seq)).toEqual(CHOICES.map((_, seq) => seq));
      expect(landed).toEqual(CHOICES);

      // The executors are the receiver's: when it exits, the deployment ends with it.
      receiver.kill('SIGTERM');
      await exited;
      const listed = (): { id: string }[] => JSON.parse(syrup('ls', '--json', '--socket', socketPath).stdout) as { id: string }[];
      let left = listed();
      for (let i = 0; i < 50 && left.some((d) => d.id === id); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = listed();
      }
      expect(left.map((d) => d.id)).not.toContain(id);
      id = undefined;
    } finally {
      if (id !== undefined) syrup('undeploy', id, '--socket', socketPath);
      receiver.kill('SIGTERM');
      await exited;
    }
  }, 120_000);

  it('cpu-redirect with --target cpus=0,1: decision k moves each datagram\'s network processing to CPU k', async (context) => {
    if (sys.possibleCpus() < 2) context.skip();
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA, ipB } = pair;
    const deployed = syrup('deploy', BY_FIRST_WORD, '--hook', 'cpu-redirect', '--interface', ifA, '--target', `netns=${nsA}`, '--port', String(CPU_PORT), '--target', 'cpus=0,1', '--target', 'mode=skb', '--socket', socketPath, '--json');
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const { id, target } = JSON.parse(deployed.stdout) as { id: string; target: unknown };
    try {
      expect(target).toEqual({ interface: ifA, port: CPU_PORT, extra: { netns: nsA, cpus: [0, 1], mode: 'skb' } });
      using receiver = udpSocketIn(sys, nsA, ipA, CPU_PORT);
      // SO_INCOMING_CPU follows only connected UDP sockets.
      connectUdp(receiver, ipB, SRC_PORT);
      using sender = udpSocketIn(sys, nsB, ipB, SRC_PORT);
      const incoming: number[] = [];
      for (let seq = 0; seq < CHOICES.length; seq++) {
        sys.sendto(sender, payloadOf(seq, CHOICES), 0, sockaddrIn(ipA, CPU_PORT));
        let got: Uint8Array[] = [];
        expect(await waitUntil(() => (got = receiveWaiting(receiver)).length > 0)).toBe(true);
        expect(got.map((d) => [...d])).toEqual([[...payloadOf(seq, CHOICES)]]);
        incoming.push(incomingCpu(sys, receiver));
      }
      expect(incoming).toEqual(CHOICES);
    } finally {
      expect(syrup('undeploy', id, '--socket', socketPath).code).toBe(0);
    }
  }, 120_000);
});
