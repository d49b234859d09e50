import { expect, it } from 'vitest';
import { Add, call, exit, JGT, label, loadMapPtr, loadMem, Mov, R0, R1, R2, R3, R4, R6 } from '../../../src/asm/index.js';
import { ProgArray } from '../../../src/maps/system/prog-array.js';
import type { SystemMapError } from '../../../src/maps/system/system-map-error.js';
import { Program } from '../../../src/programs/program.js';
import { MapType, ProgType } from '../../../src/syscalls/bpf-constants.js';
import { KernelMap } from '../../../src/maps/kernel-map.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { frame, loadXdp, returning, XDP_DROP, XDP_PASS } from '../../support/xdp-programs.js';
import { caught } from '../../support/caught.js';

const XDP_TX = 3;

/** tail_call(ctx, programs, packet[14]); XDP_PASS when the slot is empty or the packet too short. */
function dispatcher(): ReturnType<typeof returning> {
  return [
    Mov.reg(R6, R1),
    loadMem(R2, R6, 0, 'W'),
    loadMem(R3, R6, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, 15),
    JGT.reg(R4, R3, 'fallback'),
    loadMem(R3, R2, 14, 'B'),
    Mov.reg(R1, R6),
    loadMapPtr(R2, 'programs'),
    call('tail_call'),
    label('fallback'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

describeKernel('program arrays', { needs: ['bpf'] }, () => {
  it('routes tail calls to the program at an index, answers program ids, and falls through once deleted', () => {
    using programs = ProgArray.create({ maxEntries: 4, name: 'targets' });
    using dispatch = loadXdp('dispatch', dispatcher(), { programs });
    const drop = loadXdp('drop', returning(XDP_DROP));
    const tx = loadXdp('tx', returning(XDP_TX));
    programs.set(0, drop);
    programs.set(1, tx);
    expect(programs.get(0)).toBe(drop.info().id);
    expect(programs.get(1)).toBe(tx.info().id);
    expect(programs.get(2)).toBeUndefined();
    // The array holds its own references: the targets keep working after their fds close.
    drop.close();
    tx.close();
    expect(dispatch.testRun(frame([0])).verdict).toBe('XDP_DROP');
    expect(dispatch.testRun(frame([1])).verdict).toBe('XDP_TX');
    expect(dispatch.testRun(frame([2])).verdict).toBe('XDP_PASS');
    expect(dispatch.testRun(frame([200])).verdict).toBe('XDP_PASS');

    expect(programs.delete(0)).toBe(true);
    expect(programs.delete(0)).toBe(false);
    expect(programs.get(0)).toBeUndefined();
    expect(dispatch.testRun(frame([0])).verdict).toBe('XDP_PASS');
  });

  it('refuses programs of another type and indexes outside the array', () => {
    using programs = ProgArray.create({ maxEntries: 2 });
    using dispatch = loadXdp('dispatch', dispatcher(), { programs });
    using filter = Program.load({ name: 'filter', type: ProgType.SOCKET_FILTER, license: 'GPL', instructions: returning(0) });
    const wrongType = caught(() => programs.set(0, filter)) as SystemMapError;
    expect(wrongType.code).toBe('SYSTEM_MAP_UPDATE_FAILED');
    expect(wrongType.message).toMatch(/EINVAL/);
    using pass = loadXdp('pass', returning(XDP_PASS));
    expect((caught(() => programs.set(2, pass)) as SystemMapError).code).toBe('SYSTEM_MAP_INDEX_OUT_OF_RANGE');
    expect(dispatch.testRun(frame([0])).retval).toBe(XDP_PASS);
  });

  it('adopts only program arrays', () => {
    const hash = KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect((caught(() => ProgArray.fromKernelMap(hash)) as SystemMapError).code).toBe('SYSTEM_MAP_INCOMPATIBLE');
    expect(hash.closed).toBe(true);
  });
});
