import { expect, it } from 'vitest';
import { DISPATCHER_MAP_NAMES, ROUTE_VALUE_SIZE, dispatcherInstructions } from '../../../src/hooks/xdp/dispatcher-program.js';
import { KernelMap } from '../../../src/maps/kernel-map.js';
import { ProgArray } from '../../../src/maps/system/prog-array.js';
import { Program } from '../../../src/programs/program.js';
import { AttachType, MapType, ProgType } from '../../../src/syscalls/bpf-constants.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { returning, XDP_DROP, XDP_PASS } from '../../support/xdp-programs.js';
import { testFrame } from './frames.js';

function loadXdpForArray(name: string, instructions: Parameters<typeof Program.load>[0]['instructions'], maps: Map<string, KernelMap> = new Map()): Program {
  return Program.load({ name, type: ProgType.XDP, expectedAttachType: AttachType.XDP, license: 'Dual BSD/GPL', instructions, maps });
}

function route(routes: KernelMap, port: number, slot: number, queue?: number): void {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, port, true);
  const value = new Uint8Array(ROUTE_VALUE_SIZE);
  new DataView(value.buffer).setUint32(0, slot, true);
  new DataView(value.buffer).setUint32(4, queue === undefined ? 0 : queue + 1, true);
  routes.update(key, value);
}

describeKernel('the dispatcher program', { needs: ['bpf'] }, () => {
  it('tail-calls the slot its route names for UDP to a routed port, and passes everything else', () => {
    using routes = KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: ROUTE_VALUE_SIZE, maxEntries: 8, name: 'routes' });
    using policies = ProgArray.create({ maxEntries: 8, name: 'policies' });
    using dispatcher = loadXdpForArray('dispatch', dispatcherInstructions(), new Map([[DISPATCHER_MAP_NAMES.routes, routes], [DISPATCHER_MAP_NAMES.policies, policies.kernelMap]]));
    using dropping = loadXdpForArray('drops', returning(XDP_DROP));
    policies.set(3, dropping);
    route(routes, 9000, 3);
    route(routes, 9100, 5); // an empty slot
    const run = (frame: Uint8Array): number => dispatcher.testRun(frame).retval;

    expect(run(testFrame({ dstPort: 9000 }))).toBe(XDP_DROP);
    expect(run(testFrame({ dstPort: 9000, ipOptions: 8 }))).toBe(XDP_DROP);
    expect(run(testFrame({ dstPort: 9000, vlan: true }))).toBe(XDP_DROP);
    expect(run(testFrame({ dstPort: 9000, srcAddr: Array<number>(16).fill(1), dstAddr: Array<number>(16).fill(2) }))).toBe(XDP_DROP);

    expect(run(testFrame({ dstPort: 9001 }))).toBe(XDP_PASS);
    expect(run(testFrame({ dstPort: 9100 }))).toBe(XDP_PASS);
    expect(run(testFrame({ dstPort: 9000, protocol: 6 }))).toBe(XDP_PASS);
    const fragment = testFrame({ dstPort: 9000 });
    fragment[21] = 8; // offset 64 bytes: not the first fragment, no UDP header
    expect(run(fragment)).toBe(XDP_PASS);
    expect(run(testFrame({ dstPort: 9000 }).subarray(0, 40))).toBe(XDP_PASS);

    // A route bound to a queue serves only frames of that queue (a test run's frames arrive on queue 0).
    route(routes, 9000, 3, 1);
    expect(run(testFrame({ dstPort: 9000 }))).toBe(XDP_PASS);
    route(routes, 9000, 3, 0);
    expect(run(testFrame({ dstPort: 9000 }))).toBe(XDP_DROP);
  });
});
