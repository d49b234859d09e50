import { SyrupError } from '@syrup/errors';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli-io.js';
import { deployTarget } from '../src/deploy-target.js';
import { runCli } from '../src/run-cli.js';

describe('syrup deploy --target', () => {
  it('reads every field per the hook, lists as a,b, the wire five at the top and the rest in extra', () => {
    expect(deployTarget('xdp-skb', {}, ['interface=veth0', 'netns=box', 'xskPid=4321', 'port=9000', 'queue=1'])).toEqual({
      interface: 'veth0',
      port: 9000,
      queue: 1,
      extra: { netns: 'box', xskPid: 4321 },
    });
    expect(deployTarget('cpu-redirect', { interface: 'veth0', port: 9000 }, ['cpus=0,1', 'mode=skb'])).toEqual({ interface: 'veth0', port: 9000, extra: { cpus: [0, 1], mode: 'skb' } });
    // A namespace named by digits stays text: the field is a string.
    expect(deployTarget('xdp-skb', {}, ['netns=123'])).toEqual({ extra: { netns: '123' } });
  });

  it('keeps --port, --pid, --protocol, --interface and --queue as aliases, and refuses two different values for one field', () => {
    expect(deployTarget('socket-select', { port: 9000, protocol: 'udp', pid: 12 }, ['address=127.0.0.1'])).toEqual({ port: 9000, protocol: 'udp', pid: 12, extra: { address: '127.0.0.1' } });
    expect(deployTarget('socket-select', { port: 9000 }, ['port=9000'])).toEqual({ port: 9000 });
    expect(() => deployTarget('socket-select', { port: 9000 }, ['port=9001'])).toThrow("--port and --target port=9001 name different values for target field 'port'.");
  });

  it('refuses a word that is not key=value, a value of the wrong type, and a field the standard hook lacks', () => {
    expect(() => deployTarget('cpu-redirect', {}, ['cpus'])).toThrow("--target takes KEY=VALUE (lists as cpus=0,1), not 'cpus'.");
    // A usage mistake is a SyrupError with its own code, told apart from the daemon's refusals by its class.
    expect(() => deployTarget('cpu-redirect', {}, ['cpus'])).toThrow(UsageError);
    expect(() => deployTarget('cpu-redirect', {}, ['cpus'])).toThrow(expect.objectContaining({ name: 'UsageError', code: 'USAGE' }));
    expect(new UsageError('m.')).toBeInstanceOf(SyrupError);
    expect(() => deployTarget('cpu-redirect', {}, ['cpus=0,one'])).toThrow("target field 'cpus' takes integer list, and 'one' is not an integer.");
    expect(() => deployTarget('xdp-skb', {}, ['cpus=0'])).toThrow("hook 'xdp-skb' has no target field 'cpus' (it has interface, netns, port, queue, protocol, xskPid).");
  });

  it("reads a third-party hook's fields as integers, integer lists or text", () => {
    expect(deployTarget('work-queue', {}, ['queueName=jobs', 'workers=0,1', 'depth=8'])).toEqual({ extra: { queueName: 'jobs', workers: [0, 1], depth: 8 } });
  });

  it('answers a usage error in one sentence, exit code 2, before connecting', async () => {
    const err: string[] = [];
    const code = await runCli(['deploy', 'p.ts', '--hook', 'cpu-redirect', '--target', 'cpus=x', '--socket', '/nonexistent/syrup.sock'], { out: () => undefined, err: (s: string) => err.push(s) } as never);
    expect(code).toBe(2);
    expect(err.join('')).toBe("syrup: target field 'cpus' takes integer list, and 'x' is not an integer.");
  });
});
