import { describe, expect, it } from 'vitest';
import { RoundRobinQueue } from '../src/service/compile/round-robin-queue.js';

/** Everything the queue hands out, in order, until it is empty. */
function served(queue: RoundRobinQueue<string>): string[] {
  const order: string[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) order.push(item);
  return order;
}

describe('RoundRobinQueue', () => {
  it('serves one item per uid in turn, each uid in its own FIFO order', () => {
    const queue = new RoundRobinQueue<string>();
    for (const item of ['b1', 'b2', 'b3']) queue.push(1001, item);
    queue.push(1000, 'a1');
    queue.push(1002, 'c1');
    queue.push(1000, 'a2');
    expect(served(queue)).toEqual(['b1', 'a1', 'c1', 'b2', 'a2', 'b3']);
  });

  it('puts a uid that starts waiting ahead of the uid just served, and does not let an emptied uid jump the turn', () => {
    const queue = new RoundRobinQueue<string>();
    queue.push(1001, 'b1');
    queue.push(1001, 'b2');
    expect(queue.shift()).toBe('b1');
    // A arrives while b1 runs: it goes before b2.
    queue.push(1000, 'a1');
    expect(queue.shift()).toBe('a1');
    expect(queue.shift()).toBe('b2');
    // Both queues are empty now; B (served last) queues first, A right after: A's turn comes first.
    queue.push(1001, 'b3');
    queue.push(1000, 'a2');
    expect(served(queue)).toEqual(['a2', 'b3']);
  });

  it('counts and removes waiting items by uid', () => {
    const queue = new RoundRobinQueue<string>();
    queue.push(1001, 'b1');
    queue.push(1001, 'b2');
    expect(queue.sizeOf(1001)).toBe(2);
    expect(queue.sizeOf(1000)).toBe(0);
    expect(queue.remove(1001, 'b1')).toBe(true);
    expect(queue.remove(1001, 'b1')).toBe(false);
    expect(queue.remove(1000, 'b2')).toBe(false);
    expect(queue.sizeOf(1001)).toBe(1);
    expect(queue.drain()).toEqual(['b2']);
    expect(queue.shift()).toBeUndefined();
  });
});
