import { mkdirSync } from 'node:fs';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, expect, it } from 'vitest';
import { Add, Mov, R0, R1, R10, R2, atomic, call, exit, JEq, label, loadMapPtr, storeImm } from '../../src/asm/index.js';
import { KernelBtf } from '../../src/btf/index.js';
import { LinkError, RawTracepointLink } from '../../src/links/index.js';
import { KernelMap } from '../../src/maps/index.js';
import { Program } from '../../src/programs/index.js';
import { LinkType, MapType, ProgType } from '../../src/syscalls/index.js';
import { removePinRoot, uniquePinRoot } from '../support/pin-root.js';

/** A raw tracepoint program that counts its runs in counter[0]. */
function counting(counter: KernelMap): Program {
  return Program.load({
    name: 'count_switch',
    type: ProgType.RAW_TRACEPOINT,
    license: 'GPL',
    instructions: [
      storeImm(R10, -4, 0, 'W'),
      loadMapPtr(R1, 'counter'),
      Mov.reg(R2, R10),
      Add.imm(R2, -4),
      call('map_lookup_elem'),
      JEq.imm(R0, 0, 'out'),
      Mov.imm(R1, 1),
      atomic('add', R0, 0, R1),
      label('out'),
      Mov.imm(R0, 0),
      exit(),
    ],
    maps: new Map([['counter', counter]]),
  });
}

const read = (map: KernelMap): bigint => new DataView((map.lookup(new Uint8Array(4)) as Uint8Array).buffer).getBigUint64(0, true);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeKernel('RawTracepointLink', { needs: ['bpf', 'raw-tracepoint'] }, () => {
  it('runs a raw tracepoint program on every sched_switch while attached, and no more once closed', async () => {
    using counter = KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    using program = counting(counter);
    const link = RawTracepointLink.attach(program, 'sched_switch');
    await sleep(50);
    expect(read(counter)).toBeGreaterThan(0n);
    link.close();
    expect(link.closed).toBe(true);
    const after = read(counter);
    await sleep(50);
    expect(read(counter)).toBe(after);
  });

  it('refuses a program of another type and an unknown tracepoint, in one sentence', () => {
    using counter = KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    using program = counting(counter);
    expect(() => RawTracepointLink.attach(program, 'no_such_tracepoint_here')).toThrow(LinkError);
    expect(() => RawTracepointLink.attach(program, 'no_such_tracepoint_here')).toThrow(/^attaching program 'count_switch' to raw tracepoint no_such_tracepoint_here failed: BPF_RAW_TRACEPOINT_OPEN on no_such_tracepoint_here failed with ENOENT/);
    using xdp = Program.load({ name: 'pass', type: ProgType.XDP, license: 'GPL', instructions: [Mov.imm(R0, 2), exit()] });
    expect(() => RawTracepointLink.attach(xdp, 'sched_switch')).toThrow("program 'pass' is not a raw tracepoint program (type 6), so it cannot attach to tracepoint sched_switch.");
  });
});

describeKernel('RawTracepointLink as a Link', { needs: ['bpf', 'raw-tracepoint', 'bpffs'] }, () => {
  const root = uniquePinRoot();
  afterEach(() => removePinRoot(root));

  it('describes itself, stays attached through a PinnedLink after its fd closes, and ends once unpinned; detach is refused', async () => {
    mkdirSync(root, { recursive: true });
    using counter = KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    using program = counting(counter);
    const link = RawTracepointLink.attach(program, 'sched_switch');
    expect(link.info()).toMatchObject({ type: LinkType.RAW_TRACEPOINT, progId: program.info().id });
    expect(() => link.detach()).toThrow(expect.objectContaining({ code: 'LINK_DETACH_FAILED' }));
    const pinned = link.pin(`${root}/switch`);
    link.close();
    expect(pinned.closed).toBe(true);
    const before = read(counter);
    await sleep(50);
    expect(read(counter)).toBeGreaterThan(before);
    // The pin alone kept it attached; with the pin gone too, nothing holds it and it ends.
    expect(pinned.unpin()).toBe(link);
    await sleep(20);
    const after = read(counter);
    await sleep(50);
    expect(read(counter)).toBe(after);
  });
});

describeKernel('KernelBtf', { needs: ['bpf', 'btf'] }, () => {
  it("finds task_struct fields of the running kernel, through nested members, and says which one it lacks", () => {
    const btf = KernelBtf.vmlinux();
    const pid = btf.memberOffset('task_struct', 'pid');
    // pid_t pid; pid_t tgid; are neighbours in every kernel's task_struct.
    expect(btf.memberOffset('task_struct', 'tgid')).toBe(pid + 4);
    expect(btf.memberOffset('task_struct', 'se.sum_exec_runtime')).toBe(btf.memberOffset('task_struct', 'se') + btf.memberOffset('sched_entity', 'sum_exec_runtime'));
    expect(() => btf.memberOffset('task_struct', 'no_such_field')).toThrow("the kernel's struct task_struct has no member no_such_field.");
    expect(() => btf.memberOffset('no_such_struct', 'pid')).toThrow("the kernel's BTF has no struct no_such_struct.");
  });
});
