import { describe, expect, it } from 'vitest';
import { freeUdpPort } from '../src/runner/free-udp-port.js';
import { ServerStartAborted, startServerProcess } from '../src/runner/server-process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the runner's server process", () => {
  it('starts the server, reads its ready line, and stops it with its stopped line', async () => {
    const port = await freeUdpPort();
    await using server = await startServerProcess(['--port', String(port), '--threads', '2', '--policy', 'linux-default']);
    expect(server.ready).toMatchObject({ ready: true, port, threads: 2, policy: 'linux-default', deployment: null });
    const stopped = await server.stop();
    expect(stopped).toMatchObject({ stopped: true, servedPerWorker: [0, 0] });
    expect(alive(server.pid)).toBe(false);
    // Stopping again answers the same.
    expect(await server.stop()).toBe(stopped);
  });

  it('gives up a start that is interrupted and leaves no process', async () => {
    const port = await freeUdpPort();
    const abort = new AbortController();
    const starting = startServerProcess(['--port', String(port), '--threads', '2', '--policy', 'linux-default'], undefined, abort.signal);
    setTimeout(() => abort.abort(), 200);
    await expect(starting).rejects.toBeInstanceOf(ServerStartAborted);
  });

  it('confines the server to the given CPUs with taskset', async () => {
    const port = await freeUdpPort();
    await using server = await startServerProcess(['--port', String(port), '--threads', '2', '--policy', 'linux-default'], '0');
    const status = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${server.pid}/status`, 'utf8'));
    expect(status).toMatch(/^Cpus_allowed_list:\s+0$/m);
  });
});
