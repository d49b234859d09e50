import { describe, expect, it } from 'vitest';
import { DispatcherLease, type LeaseHolder } from '../../../src/hooks/xdp/dispatcher-lease.js';
import { RouteTable } from '../../../src/hooks/xdp/route-table.js';
import type { ProgArray } from '../../../src/maps/system/prog-array.js';
import type { Program } from '../../../src/programs/program.js';
import { FakeSyscalls } from '../../../src/syscalls/fake-syscalls.js';

/** A dispatcher's slots and routes over the fake kernel, recording the order of every step. */
function holder(): { holder: LeaseHolder; steps: string[]; routes: RouteTable } {
  const steps: string[] = [];
  const routes = new RouteTable(RouteTable.createMap(new FakeSyscalls()));
  const policies = {
    set: (slot: number) => steps.push(`set ${slot}`),
    delete: (slot: number) => steps.push(`empty ${slot}`),
  } as unknown as ProgArray;
  const routeTable = {
    route: (port: number, slot: number, queue: number | undefined) => {
      steps.push(`route ${port}`);
      routes.route(port, slot, queue);
    },
    unroute: (port: number) => {
      steps.push(`unroute ${port}`);
      routes.unroute(port);
    },
  } as unknown as RouteTable;
  return { holder: { ifname: 'eth0', policies, routeTable, leave: (port) => steps.push(`leave ${port}`) }, steps, routes };
}

const program = {} as Program;

describe('DispatcherLease', () => {
  it('routes the port only after the first install, and close() unroutes before it empties the slot, then leaves', () => {
    const { holder: h, steps, routes } = holder();
    const lease = new DispatcherLease(h, 9000, 3, 1, false);
    lease.install(program);
    lease.install(program);
    expect(routes.routeOf(9000)).toEqual({ slot: 3, queue: 2 });
    lease.close();
    lease.close();
    lease.release();
    expect(steps).toEqual(['set 3', 'route 9000', 'set 3', 'unroute 9000', 'empty 3', 'leave 9000']);
    expect(routes.empty).toBe(true);
  });

  it('release() only leaves: the route and the slot stay for the next process', () => {
    const { holder: h, steps } = holder();
    const lease = new DispatcherLease(h, 9000, 0, undefined, true);
    lease.release();
    lease.close();
    expect(steps).toEqual(['leave 9000']);
    expect(() => lease.install(program)).toThrow(expect.objectContaining({ code: 'XDP_CLOSED', message: "the lease of port 9000 on 'eth0' was released." }));
  });

  it('a lease never installed empties its slot on close but has no route to remove', () => {
    const { holder: h, steps } = holder();
    using lease = new DispatcherLease(h, 9000, 5, undefined, false);
    expect(lease.slot).toBe(5);
    lease.close();
    expect(steps).toEqual(['empty 5', 'leave 9000']);
  });
});

describe('RouteTable', () => {
  it('reads back every route with its queue field (0: every queue, else queue + 1)', () => {
    const routes = new RouteTable(RouteTable.createMap(new FakeSyscalls()));
    expect(RouteTable.fits(routes.map)).toBe(true);
    routes.route(53, 0, undefined);
    routes.route(9000, 7, 0);
    expect([...routes.all()].sort(([a], [b]) => a - b)).toEqual([
      [53, { slot: 0, queue: 0 }],
      [9000, { slot: 7, queue: 1 }],
    ]);
    routes.unroute(53);
    expect(routes.routeOf(53)).toBeUndefined();
    expect(routes.empty).toBe(false);
  });
});
