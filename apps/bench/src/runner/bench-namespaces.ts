import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { removeNamespaceClaim, writeNamespaceClaim, type NamespaceClaim } from '../loadgen/namespace-claim.js';

/** The /24 both ends of the pair live in (inside the two namespaces only, so it clashes with nothing). */
const SUBNET = '10.231.7';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Two network namespaces the runner creates for one run, joined by a veth pair: the server's
 * (`serverNamespace`, interface `serverInterface` at `serverAddress`, where XDP runs in driver
 * mode, which loopback cannot do) and the load generator's (`loadgenNamespace`, at
 * `loadgenAddress`). The runner claims the load generator's namespace (see NamespaceClaim), so
 * a load generator it starts there may send to `serverAddress` and nowhere else but loopback.
 * Nothing touches the host's namespace; `close()` removes the claim and both namespaces (and
 * so the pair), harmlessly twice.
 */
export class BenchNamespaces implements Disposable {
  readonly serverNamespace: string;
  readonly loadgenNamespace: string;
  readonly serverInterface: string;
  readonly loadgenInterface: string;
  readonly serverAddress = `${SUBNET}.1`;
  readonly loadgenAddress = `${SUBNET}.2`;
  /** The server interface's MAC address. */
  readonly serverMac: string;
  #closed = false;

  private constructor(names: { server: string; loadgen: string; serverIf: string; loadgenIf: string }, serverMac: string) {
    this.serverNamespace = names.server;
    this.loadgenNamespace = names.loadgen;
    this.serverInterface = names.serverIf;
    this.loadgenInterface = names.loadgenIf;
    this.serverMac = serverMac;
  }

  /** Creates the pair, addresses it, brings it up and claims the load generator's side for this process. */
  static create(): BenchNamespaces {
    // Unique per run: interface names fit IFNAMSIZ (15), and parallel runs never collide.
    const id = `${(process.pid % 46656).toString(36)}${randomBytes(3).toString('hex')}`;
    const names = { server: `syrup-bench-s-${id}`, loadgen: `syrup-bench-l-${id}`, serverIf: `sbs${id}`, loadgenIf: `sbl${id}` };
    const remove = (): void => removeNamespaces(names.server, names.loadgen);
    try {
      ip('netns', 'add', names.server);
      ip('netns', 'add', names.loadgen);
      ip('-n', names.server, 'link', 'add', names.serverIf, 'type', 'veth', 'peer', 'name', names.loadgenIf, 'netns', names.loadgen);
      ip('-n', names.server, 'addr', 'add', `${SUBNET}.1/24`, 'dev', names.serverIf);
      ip('-n', names.loadgen, 'addr', 'add', `${SUBNET}.2/24`, 'dev', names.loadgenIf);
      for (const [ns, dev] of [[names.server, names.serverIf], [names.loadgen, names.loadgenIf], [names.server, 'lo'], [names.loadgen, 'lo']] as const) {
        ip('-n', ns, 'link', 'set', dev, 'up');
      }
      const [serverLink] = JSON.parse(ip('-n', names.server, '-j', 'link', 'show', names.serverIf)) as { address: string }[];
      const [loadgenLink] = JSON.parse(ip('-n', names.loadgen, '-j', 'link', 'show', names.loadgenIf)) as { address: string }[];
      if (serverLink === undefined || loadgenLink === undefined) throw new Error(`the veth pair ${names.serverIf}/${names.loadgenIf} vanished`);
      // Static neighbours both ways: no ARP traffic reaches the server's XDP program, only requests.
      ip('-n', names.loadgen, 'neigh', 'add', `${SUBNET}.1`, 'lladdr', serverLink.address, 'dev', names.loadgenIf, 'nud', 'permanent');
      ip('-n', names.server, 'neigh', 'add', `${SUBNET}.2`, 'lladdr', loadgenLink.address, 'dev', names.serverIf, 'nud', 'permanent');
      const claim: NamespaceClaim = { namespace: names.loadgen, peerAddress: `${SUBNET}.1`, runnerPid: process.pid };
      writeNamespaceClaim(claim);
      return new BenchNamespaces(names, serverLink.address);
    } catch (error) {
      remove();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    removeNamespaces(this.serverNamespace, this.loadgenNamespace);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function removeNamespaces(server: string, loadgen: string): void {
  // The claim first: a namespace about to go must no longer admit the load generator.
  removeNamespaceClaim(loadgen);
  for (const ns of [loadgen, server]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // Never created, or already gone.
    }
  }
}
