import { describe, expect, it } from 'vitest';
import { BackendTurns } from '../src/service/compile/backend-turns.js';
import { LimitError } from '../src/index.js';

const A = 1000;
const B = 1001;

/** Work the test ends by hand: `started` lists what began, in order; `finish(name)` settles it. */
function heldWork(): { work(name: string): () => Promise<string>; started: string[]; finish(name: string): void } {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  return {
    started,
    work: (name) => () => {
      started.push(name);
      return new Promise<string>((resolve) => finishers.set(name, () => resolve(name)));
    },
    finish: (name) => {
      const finish = finishers.get(name);
      if (finish === undefined) throw new Error(`${name} has not started`);
      finish();
    },
  };
}

/** A few turns of the event loop: a turn ends, and the next one starts after the loop has polled. */
const tick = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('backend turns (issue #15: one tenant\'s verifier-bound policies cannot hold every turn)', () => {
  it("runs one turn per uid at a time: A's turn starts while B's first runs, B's second waits for B's first", async () => {
    const turns = new BackendTurns(2);
    const held = heldWork();
    const b1 = turns.run(B, held.work('b1'));
    const b2 = turns.run(B, held.work('b2'));
    const b3 = turns.run(B, held.work('b3'));
    const a1 = turns.run(A, held.work('a1'));
    await tick();
    // Two slots: B's second does not take the free one, A's turn does.
    expect(held.started).toEqual(['b1', 'a1']);
    held.finish('a1');
    expect(await a1).toBe('a1');
    await tick();
    expect(held.started).toEqual(['b1', 'a1']);
    held.finish('b1');
    await tick();
    expect(held.started).toEqual(['b1', 'a1', 'b2']);
    held.finish('b2');
    await tick();
    held.finish('b3');
    expect(await Promise.all([b1, b2, b3])).toEqual(['b1', 'b2', 'b3']);
  });

  it('serves waiting uids round robin when the slots are full', async () => {
    const turns = new BackendTurns(1);
    const held = heldWork();
    const done = [turns.run(B, held.work('b1')), turns.run(B, held.work('b2')), turns.run(B, held.work('b3')), turns.run(A, held.work('a1'))];
    for (const name of ['b1', 'a1', 'b2', 'b3']) {
      await tick();
      expect(held.started.at(-1)).toBe(name);
      held.finish(name);
    }
    await Promise.all(done);
    expect(held.started).toEqual(['b1', 'a1', 'b2', 'b3']);
  });

  it("refuses a uid's turn over its limit, naming the limit, and passes a failure of the work on", async () => {
    const turns = new BackendTurns(2);
    const held = heldWork();
    const b = [turns.run(B, held.work('b1'), { maxQueued: 2 }), turns.run(B, held.work('b2'), { maxQueued: 2 })];
    const refused = await turns.run(B, held.work('b3'), { maxQueued: 2 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LimitError);
    expect(refused).toMatchObject({
      code: 'LIMIT_QUEUED_LOADS',
      limit: 2,
      message: 'uid 1001 already has 2 policies waiting for code generation or the verifier, the --max-queued-compiles limit.',
    });
    // Another uid is not counted against B's limit.
    const failing = turns.run(A, () => Promise.reject(new Error('the verifier said no')), { maxQueued: 2 });
    await expect(failing).rejects.toThrow('the verifier said no');
    await tick();
    held.finish('b1');
    await tick();
    held.finish('b2');
    expect(await Promise.all(b)).toEqual(['b1', 'b2']);
    expect(held.started).toEqual(['b1', 'b2']);
  });

  it('withdraws a waiting turn when its signal aborts; a running one runs on', async () => {
    const turns = new BackendTurns(1);
    const held = heldWork();
    const gone = new AbortController();
    const b1 = turns.run(B, held.work('b1'), { signal: gone.signal });
    const b2 = turns.run(B, held.work('b2'), { signal: gone.signal });
    const a1 = turns.run(A, held.work('a1'));
    await tick();
    gone.abort();
    await expect(b2).rejects.toMatchObject({ code: 'REQUEST_CANCELLED' });
    held.finish('b1');
    expect(await b1).toBe('b1');
    await tick();
    held.finish('a1');
    expect(await a1).toBe('a1');
    expect(held.started).toEqual(['b1', 'a1']);
    await expect(turns.run(B, held.work('b3'), { signal: gone.signal })).rejects.toMatchObject({ code: 'REQUEST_CANCELLED' });
  });
});
