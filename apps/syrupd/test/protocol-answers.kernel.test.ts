import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { MAX_REQUEST_NESTING } from '@syrup/runtime';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, expect, it } from 'vitest';
import { startDaemonChild, type DaemonChild } from './support/daemon.js';

const NESTING_REFUSAL = { code: 'PROTOCOL_MALFORMED', message: `the request nests deeper than ${MAX_REQUEST_NESTING} levels.` };

/** A raw line connection to the daemon: what a well-behaved client would never send goes through it. */
async function rawLines(socketPath: string): Promise<{ socket: Socket; send(text: string): void; next(): Promise<Record<string, unknown>> }> {
  const socket = createConnection(socketPath);
  await once(socket, 'connect');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return {
    socket,
    send: (text) => socket.write(text),
    next: async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error('syrupd closed the connection without answering');
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

describeKernel('syrupd answers every request line, whatever its shape (issue #15, item 5)', { needs: ['bpf'] }, () => {
  let daemon: DaemonChild | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await daemon?.stop();
    daemon = undefined;
  });

  it('refuses a 2,000-level target.extra with PROTOCOL_MALFORMED and the request id, answers the next request on the same connection, and never restarts', async () => {
    daemon = await startDaemonChild();
    const c = await rawLines(daemon.socketPath);
    sockets.push(c.socket);
    c.send(`${JSON.stringify({ v: 1, id: 1, op: 'status' })}\n`);
    const before = await c.next();
    expect(before).toMatchObject({ id: 1, ok: true, result: { version: 1 } });
    const pid = (before['result'] as { pid: number }).pid;

    // A few KB: the request, which used to overflow the validator's stack and close the connection unanswered.
    const deep = `${'['.repeat(2000)}${']'.repeat(2000)}`;
    const request = `{"v":1,"id":2,"op":"deploy","hook":"socket-select","policy":{"fileName":"p.ts","text":""},"target":{"port":9,"extra":{"a":${deep}}}}`;
    expect(request.length).toBeLessThan(5000);
    c.send(`${request}\n`);
    expect(await c.next()).toEqual({ v: 1, id: 2, ok: false, error: NESTING_REFUSAL });
    // Objects nest the same way, and a line with no readable id is refused with id null.
    c.send(`{"v":1,"id":"objects","op":"list","junk":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}\n${deep}\n`);
    expect(await c.next()).toEqual({ v: 1, id: 'objects', ok: false, error: NESTING_REFUSAL });
    expect(await c.next()).toEqual({ v: 1, id: null, ok: false, error: NESTING_REFUSAL });

    c.send(`${JSON.stringify({ v: 1, id: 3, op: 'list' })}\n`);
    expect(await c.next()).toEqual({ v: 1, id: 3, ok: true, result: [] });
    c.send(`${JSON.stringify({ v: 1, id: 4, op: 'status' })}\n`);
    expect(await c.next()).toMatchObject({ id: 4, ok: true, result: { pid } });
    expect(daemon.child.exitCode).toBeNull();
    expect(daemon.output()).not.toMatch(/Maximum call stack|RangeError/);
  }, 60_000);
});
