import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnershipError, STANDARD_HOOKS, claimRefusal, claimsConflict, type DeployTarget, type HookSpec, type TargetClaim } from '@syrup/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EbpfBackend } from '../../src/ebpf-backend.js';
import { ProcView } from '../../src/hooks/proc-view.js';
import { SocketSelectHook } from '../../src/hooks/socket-select/socket-select-hook.js';
import { XDP_HOOK_IDS, XdpHook } from '../../src/hooks/xdp/xdp-hook.js';

/**
 * A fixture procfs: processes with a real uid, socket fds (symlinks to `socket:[inode]`), the
 * UDP table of their namespace, and a namespace file (hard links share one identity, as nsfs does).
 */
class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'syrup-fake-proc-'));
  readonly #namespaces = new Map<string, string>();

  constructor() {
    mkdirSync(join(this.root, 'namespaces'));
  }

  readonly #tables = new Map<string, string[]>();

  /** The UDP table of a namespace: every process in it shows the same one, as /proc/<pid>/net does. */
  table(netns: string, rows: string[]): void {
    this.#tables.set(netns, rows);
  }

  process(pid: number, uid: number, options: { inodes?: number[]; netns?: string; self?: boolean } = {}): void {
    const dir = join(this.root, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    mkdirSync(join(dir, 'net'));
    mkdirSync(join(dir, 'ns'));
    writeFileSync(join(dir, 'status'), `Name:\tserver\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    (options.inodes ?? []).forEach((inode, k) => symlinkSync(`socket:[${inode}]`, join(dir, 'fd', String(k + 3))));
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
    const netns = options.netns ?? 'host';
    writeFileSync(join(dir, 'net', 'udp'), header + (this.#tables.get(netns) ?? []).join('\n'));
    if (!this.#namespaces.has(netns)) {
      const file = join(this.root, 'namespaces', netns);
      writeFileSync(file, '');
      this.#namespaces.set(netns, file);
    }
    linkSync(this.#namespaces.get(netns) as string, join(dir, 'ns', 'net'));
    if (options.self === true) symlinkSync(String(pid), join(this.root, 'self'));
  }

  /** The path an `extra.netns` names for a fixture namespace. */
  namespacePath(netns: string): string {
    return this.#namespaces.get(netns) as string;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A /proc/net/udp row: a bound (state 07) socket on 127.0.0.1:`port`. */
function udpRow(port: number, uid: number, inode: number, state = '07'): string {
  return `   0: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 2 0000000000000000 0`;
}

const SELECT: HookSpec = STANDARD_HOOKS['socket-select'];
const XDP: HookSpec = STANDARD_HOOKS['xdp-skb'];
const CPU: HookSpec = STANDARD_HOOKS['cpu-redirect'];

/** A live deployment, as far as claims go. */
interface ClaimedTarget {
  readonly hook: string;
  readonly target: DeployTarget;
  readonly owner: number;
}

/**
 * The eBPF hooks' claims and proofs, asked in the runtime's order (packages/runtime's
 * TargetOwnership, which knows none of these rules): claims held by other tenants first, then
 * root passes, then the hook's `authorize`, whose claims are checked again.
 */
describe('target ownership at the eBPF hooks', async () => {
  let proc: FakeProc;
  let backend: EbpfBackend;
  const claimsOf = (hook: HookSpec, target: DeployTarget): readonly TargetClaim[] => backend.claims({ hook, target, input: 'udp' });
  const refuseTaken = (wanted: readonly TargetClaim[], uid: number, deployments: readonly ClaimedTarget[]): void => {
    for (const claim of wanted) {
      for (const other of deployments) {
        if (other.owner === uid) continue;
        const held = claimsOf(STANDARD_HOOKS[other.hook as 'xdp-skb'], other.target);
        if (held.some((h) => claimsConflict(h, claim))) throw new OwnershipError('TARGET_TAKEN', claimRefusal(claim, other.owner, uid));
      }
    }
  };
  const ask = async (hook: HookSpec, target: DeployTarget, uid: number, deployments: ClaimedTarget[] = []): Promise<DeployTarget> => {
    if (uid === 0) return target;
    refuseTaken(claimsOf(hook, target), uid, deployments);
    const granted = await backend.authorize({ hook, target, input: 'udp', caller: { uid } });
    refuseTaken(granted.claims, uid, deployments);
    return granted.target;
  };

  beforeEach(() => {
    proc = new FakeProc();
    const view = new ProcView(proc.root);
    backend = new EbpfBackend([new SocketSelectHook({ proc: view }), ...XDP_HOOK_IDS.map((id) => new XdpHook(id, { proc: view }))], async () => {
      throw new Error('no probe in this test');
    });
    // The daemon itself (root), whose namespace is the one `self` tables show.
    proc.table('host', [udpRow(9000, 1001, 500), udpRow(9000, 1001, 501), udpRow(9100, 1002, 600), udpRow(9200, 1001, 700, '01')]);
    proc.table('box', [udpRow(9000, 1002, 800)]);
    proc.process(1, 0, { self: true });
    proc.process(40, 1001, { inodes: [500, 501] });
    proc.process(41, 1001, { inodes: [500, 501] });
    proc.process(50, 1002, { inodes: [600] });
  });
  afterEach(() => proc.remove());

  describe('socket-select', async () => {
    it('finds the owner process of a port alone, pins it into the target, and refuses another uid naming the owner', async () => {
      expect(await ask(SELECT, { port: 9000 }, 1001)).toEqual({ port: 9000, pid: 40 });
      await expect(ask(SELECT, { port: 9000 }, 1002)).rejects.toThrow('port 9000 is bound by uid 1001, not by uid 1002.');
      await expect(ask(SELECT, { port: 9300 }, 1002)).rejects.toThrow('no udp socket is bound to port 9300, so uid 1002 owns no socket group there.');
      // A connected socket (state 01) is no group member.
      await expect(ask(SELECT, { port: 9200 }, 1001)).rejects.toThrow('no udp socket is bound to port 9200');
    });

    it('with pid: the process must be the caller\'s and hold a socket of the group on the port', async () => {
      expect(await ask(SELECT, { port: 9000, pid: 41 }, 1001)).toEqual({ port: 9000, pid: 41 });
      await expect(ask(SELECT, { port: 9000, pid: 40 }, 1002)).rejects.toThrow('process 40 belongs to uid 1001, so uid 1002 may not deploy on its sockets.');
      proc.process(60, 1002);
      await expect(ask(SELECT, { port: 9000, pid: 60 }, 1002)).rejects.toThrow('process 60 holds none of the sockets on udp port 9000 (uid 1001 bound them), so the group there is not its.');
      await expect(ask(SELECT, { port: 9000, pid: 99 }, 1002)).rejects.toThrow('no process has pid 99.');
    });

    it('lets root deploy anywhere, as given', async () => {
      expect(await ask(SELECT, { port: 9000 }, 0)).toEqual({ port: 9000 });
      expect(await ask(SELECT, { port: 4 }, 0)).toEqual({ port: 4 });
    });
  });

  describe('the XDP hooks', async () => {
    const iface = (port: number, extra: Record<string, unknown> = {}, queue?: number): DeployTarget => ({ interface: 'veth0', port, extra, ...(queue === undefined ? {} : { queue }) });

    it('takes a bound UDP socket of the caller on the port, in the namespace of the interface, as proof', async () => {
      expect(await ask(XDP, iface(9000), 1001)).toEqual(iface(9000));
      await expect(ask(XDP, iface(9000), 1002)).rejects.toThrow("UDP port 9000 on 'veth0' is bound by uid 1001, not by uid 1002.");
      await expect(ask(CPU, iface(9300), 1002)).rejects.toThrow("no UDP socket is bound to port 9300 in the network namespace of 'veth0'; uid 1002 proves it owns the port by holding one there.");
      // The same port bound in another namespace proves nothing about this one, and the reverse.
      proc.process(70, 1002, { netns: 'box', inodes: [800] });
      const box = proc.namespacePath('box');
      expect(await ask(XDP, iface(9000, { netns: box }), 1002)).toEqual(iface(9000, { netns: box }));
      await expect(ask(XDP, iface(9000, { netns: box }), 1001)).rejects.toThrow(`UDP port 9000 on 'veth0' in network namespace '${box}' is bound by uid 1002, not by uid 1001.`);
      await expect(ask(XDP, iface(9000, { netns: join(proc.root, 'nowhere') }), 1001)).rejects.toThrow('there is no network namespace');
    });

    it("refuses a port another tenant routes on the interface, naming it, whatever the hook; root is the hook's business", async () => {
      const routed: ClaimedTarget[] = [{ hook: 'cpu-redirect', target: iface(9000), owner: 1001 }];
      proc.process(51, 1002, { inodes: [900] });
      await expect(ask(XDP, iface(9000), 1002, routed)).rejects.toThrow("UDP port 9000 on 'veth0' is already routed to a policy of uid 1001, so uid 1002 may not route it.");
      // Its owner, another interface, and root are not refused here.
      expect(await ask(XDP, iface(9000), 1001, routed)).toEqual(iface(9000));
      await expect(ask(XDP, { ...iface(9000), interface: 'veth1' }, 1002, routed)).rejects.toThrow('is bound by uid 1001');
      expect(await ask(XDP, iface(9000), 0, routed)).toEqual(iface(9000));
    });

    it('gives the AF_XDP executors of one queue to one tenant; PASS/DROP policies and other queues stay open', async () => {
      const xsk: ClaimedTarget[] = [{ hook: 'xdp-skb', target: iface(9000, { xskCount: 2 }, 0), owner: 1001 }];
      await expect(ask(XDP, iface(9100, { xskCount: 1 }, 0), 1002, xsk)).rejects.toThrow(
        "queue 0 of 'veth0' already has AF_XDP executors of uid 1001, and one queue serves one tenant's AF_XDP executors (one UMEM), so uid 1002 may not add its own there.",
      );
      expect(await ask(XDP, iface(9100), 1002, xsk)).toEqual(iface(9100));
      expect(await ask(XDP, iface(9100, { xskCount: 1 }, 1), 1002, xsk)).toEqual(iface(9100, { xskCount: 1 }, 1));
      // Its owner may add executors on its own queue (the hook decides whether the UMEM can be shared).
      expect(await ask(XDP, iface(9000, { xskCount: 1 }, 0), 1001, [])).toEqual(iface(9000, { xskCount: 1 }, 0));
    });
  });

  it("xskPid: the process whose AF_XDP sockets become executors must be the caller's, and its queue is claimed", async () => {
    const xdp = (extra: Record<string, unknown>): DeployTarget => ({ interface: 'veth0', port: 9000, extra });
    expect(await ask(XDP, xdp({ xskPid: 41 }), 1001)).toEqual(xdp({ xskPid: 41 }));
    await expect(ask(XDP, xdp({ xskPid: 50 }), 1001)).rejects.toThrow('process 50 belongs to uid 1002, so uid 1001 may not use its AF_XDP sockets.');
    await expect(ask(XDP, xdp({ xskPid: 99 }), 1001)).rejects.toThrow('no process has pid 99.');
    proc.process(51, 1002, { inodes: [900] });
    const taken: ClaimedTarget[] = [{ hook: 'xdp-skb', target: { interface: 'veth0', port: 9100, extra: { xskPid: 41 } }, owner: 1001 }];
    await expect(ask(XDP, { interface: 'veth0', port: 9100, extra: { xskCount: 1 } }, 1002, taken)).rejects.toThrow('is already routed to a policy of uid 1001');
    await expect(ask(XDP, { interface: 'veth0', port: 9300, extra: { xskPid: 50 } }, 1002, taken)).rejects.toThrow("queue 0 of 'veth0' already has AF_XDP executors of uid 1001");
    expect(claimsOf(XDP, xdp({ xskPid: 41 })).map((c) => c.kind)).toEqual(['udp-port', 'xdp-queue', 'process']);
    expect(claimsOf(CPU, xdp({})).map((c) => c.kind)).toEqual(['udp-port']);
  });

  it('a hook whose rules the backend does not know is refused for tenants', async () => {
    const storage = { ...SELECT, id: 'io-queue' } as HookSpec;
    await expect(backend.authorize({ hook: storage, target: {}, input: 'udp', caller: { uid: 1001 } })).rejects.toThrow("the eBPF backend does not provide hook 'io-queue'.");
  });
});
