import { OwnershipError, STANDARD_HOOKS, type Authorization, type AuthorizeRequest, type Backend, type HookSpec, type TargetClaim, type TargetRequest } from '@syrup/core';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { TargetOwnership, type HeldClaim } from '../src/service/ownership/target-ownership.js';

/** A third-party hook: a work queue named by `queue` and owned by whoever `owners` says. */
const WORK_QUEUE: HookSpec = {
  id: 'test-queue',
  layer: 'userspace work queue',
  inputs: ['thread'],
  executor: 'core',
  verdicts: ['pass', 'drop'],
  target: z.looseObject({ queueName: z.string().describe('the work queue'), workers: z.array(z.number().int()).describe('worker ids').optional() }),
};

function claimOn(name: string): TargetClaim {
  return { kind: 'test-queue', key: name, exclusive: true, taken: `work queue '${name}' is already scheduled by {holder}, so {caller} may not schedule it.` };
}

/** Records what the runtime asked; a tenant owns the queues named after its uid. */
class QueueBackend {
  readonly asked: string[] = [];
  readonly name = 'queues';
  readonly hooks = [WORK_QUEUE];
  claims(request: TargetRequest): readonly TargetClaim[] {
    this.asked.push('claims');
    return [claimOn(String(request.target.extra?.['queueName']))];
  }
  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    this.asked.push('authorize');
    const name = String(request.target.extra?.['queueName']);
    if (!name.startsWith(`q${request.caller.uid}`)) throw new OwnershipError('NOT_OWNER', `work queue '${name}' is not uid ${request.caller.uid}'s.`);
    return { target: { ...request.target, pid: 7 }, claims: [claimOn(name), { kind: 'process', key: '7', exclusive: false, taken: 'unused' }] };
  }
}

const backendOf = (b: QueueBackend | Partial<Backend>): Backend => b as unknown as Backend;
const ask = (backend: QueueBackend | Partial<Backend>, target: Record<string, unknown>, uid: number, held: HeldClaim[] = [], hook: HookSpec = WORK_QUEUE) =>
  new TargetOwnership().authorize({ hook, target: { extra: target }, input: 'thread', caller: { uid } }, backendOf(backend), held);

describe('the runtime\'s target ownership, for any backend', () => {
  it('checks the target against the hook\'s schema first, naming the field', async () => {
    const backend = new QueueBackend();
    await expect(ask(backend, { queueName: 5 }, 1001)).rejects.toThrow("target field 'queueName' of hook 'test-queue' must be a string (the work queue), not 5.");
    await expect(ask(backend, { queueName: 'q1001', workers: '0,1' }, 1001)).rejects.toMatchObject({ code: 'TARGET_INVALID', message: "target field 'workers' of hook 'test-queue' must be an integer list (worker ids), not \"0,1\"." });
    expect(backend.asked).toEqual([]);
    // Today's wire fields are checked where they stand too (the standard hooks' schemas).
    await expect(ask(backend, { cpus: [0, 'one'] }, 0, [], STANDARD_HOOKS['cpu-redirect'])).rejects.toThrow("target field 'cpus' of hook 'cpu-redirect' must be an integer list");
  });

  it('grants a tenant what the backend authorizes, with its filled-in target and claims', async () => {
    const backend = new QueueBackend();
    const granted = await ask(backend, { queueName: 'q1001-a' }, 1001);
    expect(granted.target).toEqual({ pid: 7, extra: { queueName: 'q1001-a' } });
    expect(granted.claims.map((c) => c.kind)).toEqual(['test-queue', 'process']);
    expect(backend.asked).toEqual(['claims', 'authorize']);
    await expect(ask(backend, { queueName: 'q1001-a' }, 1002)).rejects.toThrow("work queue 'q1001-a' is not uid 1002's.");
  });

  it("refuses a claim another tenant holds with the claim's sentence, before any proof; its owner and root pass", async () => {
    const backend = new QueueBackend();
    const held: HeldClaim[] = [{ claim: claimOn('q1002-x'), owner: 1001 }];
    await expect(ask(backend, { queueName: 'q1002-x' }, 1002, held)).rejects.toMatchObject({
      code: 'TARGET_TAKEN',
      message: "work queue 'q1002-x' is already scheduled by uid 1001, so uid 1002 may not schedule it.",
    });
    expect(backend.asked).toEqual(['claims']);
    // A non-exclusive claim held elsewhere does not conflict with a non-exclusive one.
    const shared: HeldClaim[] = [{ claim: { kind: 'process', key: '7', exclusive: false, taken: 'x' }, owner: 1003 }];
    await expect(ask(backend, { queueName: 'q1002-y' }, 1002, shared)).resolves.toMatchObject({ target: { pid: 7 } });
    // Root deploys anywhere, and its claims are recorded.
    const root = await ask(backend, { queueName: 'q1002-x' }, 0, held);
    expect(root).toEqual({ target: { extra: { queueName: 'q1002-x' } }, claims: [claimOn('q1002-x')] });
  });

  it('serves only root at a backend without authorize, and a backend without claims claims nothing', async () => {
    const bare: Partial<Backend> = { name: 'bare', hooks: [WORK_QUEUE] };
    await expect(ask(bare, { queueName: 'q1001' }, 1001)).rejects.toMatchObject({
      code: 'TARGET_UNKNOWN',
      message: "the runtime cannot tell who owns targets of hook 'test-queue', so only root may deploy there.",
    });
    expect(await ask(bare, { queueName: 'q1001' }, 0)).toEqual({ target: { extra: { queueName: 'q1001' } }, claims: [] });
  });
});
