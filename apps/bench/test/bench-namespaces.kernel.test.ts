import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { NotLoopbackError, targetAddress } from '../src/loadgen/loopback-address.js';
import { NAMESPACE_CLAIM_DIR, readNamespaceClaim } from '../src/loadgen/namespace-claim.js';
import { BenchNamespaces } from '../src/runner/bench-namespaces.js';
import { runLoadgenProcess } from '../src/runner/loadgen-process.js';
import { exited } from '../src/runner/typescript-child.js';

/*
 * The load generator's guard, extended for the MICA experiment: besides loopback it sends only
 * to the veth peer address of a namespace the runner created in this run, from inside that
 * namespace, as the runner's own child. The test process plays the runner.
 */

const ECHO_SERVER = fileURLToPath(new URL('./support/udp-echo-server.mjs', import.meta.url));
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo server inside `netns`, bound to `address`; answers its port. */
async function echoServerIn(netns: string, address: string): Promise<number> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', netns, process.execPath, ECHO_SERVER, '0', address], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited(child);
  });
  const first = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next();
  if (first.done === true) throw new Error('the echo server exited before printing its port');
  return (JSON.parse(first.value) as { port: number }).port;
}

const loadgenArgs = (host: string, port: number): string[] =>
  ['--host', host, '--port', String(port), '--rate', '500', '--duration', '0.5', '--warmup', '0', '--grace', '2000', '--flows', '2', '--no-pin'];

describeKernel('the load generator in a runner-made namespace', { needs: ['root', 'netns'] }, () => {
  it("sends to the veth peer address of the runner's namespace and gets the replies", async () => {
    const namespaces = BenchNamespaces.create();
    cleanups.push(() => namespaces.close());
    const port = await echoServerIn(namespaces.serverNamespace, namespaces.serverAddress);
    const report = await runLoadgenProcess(loadgenArgs(namespaces.serverAddress, port), undefined, { netns: namespaces.loadgenNamespace });
    expect(report.target).toBe(`${namespaces.serverAddress}:${port}`);
    expect(report.sent).toBeGreaterThan(100);
    expect(report.received).toBe(report.sent);
  }, 60_000);

  it('refuses any other address, a namespace without a claim, another runner, and a namespace the runner removed', async () => {
    const namespaces = BenchNamespaces.create();
    cleanups.push(() => namespaces.close());
    const claim = readNamespaceClaim(namespaces.loadgenNamespace);
    expect(claim).toEqual({ namespace: namespaces.loadgenNamespace, peerAddress: namespaces.serverAddress, runnerPid: process.pid });
    const refusal = async (host: string, netns: string): Promise<string> => {
      const error = (await runLoadgenProcess(loadgenArgs(host, 9), undefined, { netns }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(/exited with 2/);
      return error.message.split('\n').at(-1)!;
    };
    // Another address in the same subnet, and one outside: only the recorded peer qualifies.
    expect(await refusal('10.231.7.3', namespaces.loadgenNamespace)).toBe(
      `loadgen: the load generator sends to 10.231.7.3 only as the veth peer of a namespace its runner created in this run, and the veth peer address of namespace ${namespaces.loadgenNamespace} is 10.231.7.1`,
    );
    expect(await refusal('192.0.2.1', namespaces.loadgenNamespace)).toMatch(/the veth peer address of namespace .* is 10\.231\.7\.1$/);
    // The server's namespace is the runner's too, but not claimed for the load generator.
    expect(await refusal(namespaces.serverAddress, namespaces.serverNamespace)).toMatch(/namespace syrup-bench-s-\w+ was not created by an experiment runner$/);
    // In this process: a claim of another runner, and a claimed namespace it does not run in.
    expect(() => targetAddress(namespaces.serverAddress, namespaces.loadgenNamespace, process.pid + 1)).toThrow(/belongs to runner \d+, not to this one's/);
    expect(() => targetAddress(namespaces.serverAddress, namespaces.loadgenNamespace, process.pid)).toThrow(
      new NotLoopbackError(namespaces.serverAddress, `this process does not run in namespace ${namespaces.loadgenNamespace}`),
    );
    // Without --namespace only loopback, as before.
    expect(() => targetAddress(namespaces.serverAddress)).toThrow(/only sends to loopback addresses/);
    namespaces.close();
    expect(readNamespaceClaim(namespaces.loadgenNamespace)).toBeUndefined();
    expect(existsSync(`/run/netns/${namespaces.loadgenNamespace}`)).toBe(false);
    expect(() => targetAddress(namespaces.serverAddress, namespaces.loadgenNamespace, process.pid)).toThrow(/was not created by an experiment runner/);
    expect(existsSync(NAMESPACE_CLAIM_DIR)).toBe(true);
  }, 60_000);
});
