import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compilePolicy, RestoreError, type PersistenceLocation, type PolicyIr } from '@syrup/core';
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_SOCKET, WORK_QUEUE_HOOK, WorkQueueBackend, type JobAnswer, type WorkQueueArtifact } from '../src/index.js';

const SPREAD = { fileName: 'spread-jobs.ts', text: readFileSync(new URL('../policies/spread-jobs.ts', import.meta.url), 'utf8') };
const ME = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

/** What the runtime does before a backend sees a policy: the front end, once. */
function irOf(params: Record<string, number> = {}): PolicyIr {
  return compilePolicy(SPREAD, { params }).ir;
}

async function ask(socketPath: string, lines: readonly string[]): Promise<JobAnswer[]> {
  const socket = createConnection(socketPath);
  const answers: JobAnswer[] = [];
  const reader = createInterface({ input: socket });
  const done = new Promise<void>((resolve) => reader.on('line', (line) => answers.push(JSON.parse(line) as JobAnswer) === lines.length && resolve()));
  for (const line of lines) socket.write(`${line}\n`);
  await done;
  socket.destroy();
  return answers;
}

describe('the work-queue example backend', () => {
  const dirs: string[] = [];
  const location = (): PersistenceLocation => {
    const stateDir = mkdtempSync(join(tmpdir(), 'work-queue-'));
    dirs.push(stateDir);
    return { stateDir, tenant: ME };
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('claims its queue name exclusively and takes the IR the runtime made, parsing no policy text', async () => {
    const backend = new WorkQueueBackend();
    const target = { extra: { queueName: 'orders', workers: 3 } };
    expect(backend.claims({ hook: WORK_QUEUE_HOOK, target, input: 'udp' })).toEqual([
      { kind: 'work-queue', key: 'orders', exclusive: true, taken: "job queue 'orders' is served by a policy of {holder}, so {caller} may not deploy on it." },
    ]);
    const ir = irOf();
    const artifact = await backend.compile({ policy: ir.manifest, hook: WORK_QUEUE_HOOK, ir });
    expect(artifact.ir).toBe(ir);
  });

  it('sends each job to the queue the policy picks, over its maps, and counts it', async () => {
    const backend = new WorkQueueBackend();
    const ir = irOf({ WORKERS: 3 });
    const target = { extra: { queueName: 'orders', workers: 3 } };
    await using attachment = await backend.attach({ artifact: await backend.compile({ policy: ir.manifest, hook: WORK_QUEUE_HOOK, ir }), target });
    const seen = attachment.maps.get('seen');
    expect(attachment.submit({ payload: '' })).toEqual({ queue: 0 });
    // Four datagrams counted at another hook sharing `seen`: the next job goes to queue 4 % 3.
    seen?.update(0, [4n]);
    expect(attachment.submit({ payload: 'ff' })).toEqual({ queue: 1 });
    expect(attachment.counts.dispatched).toEqual([1, 1, 0]);
    expect(attachment.counts.passed).toBe(0);
    expect(seen?.lookup(1)).toEqual([2n]);
  });

  it('persisted, serves jobs on a socket in its state directory that only the tenant may open, and keeps its counts there', async () => {
    const backend = new WorkQueueBackend();
    const ir = irOf({ WORKERS: 2 });
    const target = { extra: { queueName: 'orders', workers: 2 } };
    const where = location();
    const attachment = await backend.attach({ artifact: await backend.compile({ policy: ir.manifest, hook: WORK_QUEUE_HOOK, ir }), target });
    const record = attachment.persist(where);
    const socketPath = join(where.stateDir, JOB_SOCKET);
    expect(statSync(socketPath)).toMatchObject({ uid: ME.uid, gid: ME.gid, mode: 0o140600 });
    expect(await ask(socketPath, ['{"payload":"01"}', 'not json', '{"payload":"zz"}', '{"payload":"","extra":1}'])).toEqual([
      { queue: 0 },
      { error: 'a job is one JSON object per line.' },
      { error: "job field 'payload' is not valid: Invalid string: must match pattern /^([0-9a-f]{2}){0,1024}$/." },
      { error: 'job field \'\' is not valid: Unrecognized key: "extra".' },
    ]);
    await attachment.release();
    expect(() => statSync(socketPath)).toThrow();

    // After a restart: the recorded counts file comes back, and the socket opens again.
    const restored = await backend.restore({ record, ir, location: where, target });
    expect(restored.counts.dispatched).toEqual([1, 0]);
    expect(await ask(socketPath, ['{"payload":""}'])).toEqual([{ queue: 0 }]);
    expect(restored.counts.dispatched).toEqual([2, 0]);
    await restored.close();
  });

  it('refuses to restore counts that are not the recorded ones, or without the policy it runs', async () => {
    const backend = new WorkQueueBackend();
    const ir = irOf();
    const target = { extra: { queueName: 'orders', workers: 3 } };
    const [first, second] = [location(), location()];
    const a = await backend.attach({ artifact: (await backend.compile({ policy: ir.manifest, hook: WORK_QUEUE_HOOK, ir })) as WorkQueueArtifact, target });
    const record = a.persist(first);
    await a.release();
    const b = await backend.attach({ artifact: await backend.compile({ policy: ir.manifest, hook: WORK_QUEUE_HOOK, ir }), target });
    b.persist(second);
    await b.release();
    await expect(backend.restore({ record, ir, location: second, target })).rejects.toMatchObject({ code: 'RESTORE_UNTRUSTED' });
    await expect(backend.restore({ record, location: first, target })).rejects.toBeInstanceOf(RestoreError);
  });
});
