import { describe, expect, it } from 'vitest';
import { exit, loadMem, Mov, R0, R1 } from '../../src/asm/index.js';
import { ERRNO } from '../../src/errors/errno.js';
import { Program } from '../../src/programs/program.js';
import { ProgramError } from '../../src/programs/program-error.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { MapType, ProgType } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';

const REJECTION = [
  '0: R1=ctx() R10=fp0',
  '1: (61) r0 = *(u32 *)(r1 +99)',
  'invalid bpf_context access off=99 size=4',
  'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  '',
].join('\n');

const program = [Mov.imm(R0, 1), loadMem(R0, R1, 99, 'W').withSource({ file: 'p.ts', line: 4, column: 2 }), exit()];

/** A gate the fake's asynchronous PROG_LOAD waits at: `entered` resolves when a load reaches it, `open()` lets it through. */
function loadGate(sys: FakeSyscalls): { entered: Promise<void>; open(): void } {
  let open!: () => void;
  let entered!: () => void;
  const reached = new Promise<void>((resolve) => (entered = resolve));
  const gate = new Promise<void>((resolve) => (open = resolve));
  sys.progLoadGate = () => {
    entered();
    return gate;
  };
  return { entered: reached, open };
}

describe('Program.loadAsync against the fake kernel', () => {
  it('is still loading while other system calls run, and loads once the kernel answers', async () => {
    const sys = new FakeSyscalls();
    const gate = loadGate(sys);
    let settled = false;
    const loading = Program.loadAsync({ name: 'ok', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys }).finally(() => (settled = true));
    await gate.entered;
    // The event loop is free: a map is created (with the shared attr) while the load waits in the "kernel".
    const map = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: 'meanwhile' });
    expect(settled).toBe(false);
    expect(sys.count('BPF_PROG_LOAD')).toBe(0);
    gate.open();
    using loaded = await loading;
    map.close();
    expect(sys.count('BPF_PROG_LOAD')).toBe(1);
    // The attr the load encoded was its own: the map creation in between did not overwrite its name.
    expect(loaded.info().name).toBe('ok');
  });

  it('repeats a refused load with a log and throws the same VerifierError as the synchronous load, leaving no fd behind', async () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: REJECTION });
    const before = sys.openFds();
    const error = await Program.loadAsync({ name: 'bad', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(sys.count('BPF_PROG_LOAD')).toBe(2);
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).message).toBe(
      "program 'bad' was rejected by the verifier at instruction 1 ((61) r0 = *(u32 *)(r1 +99)) from p.ts:4:2: invalid bpf_context access off=99 size=4.",
    );
    expect(sys.openFds()).toEqual(before);
  });

  it('grows the log on ENOSPC as the synchronous load does', async () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: `${'0: R1=ctx() R10=fp0\n'.repeat(5000)}${REJECTION}` });
    const error = (await Program.loadAsync({ name: 'big', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys }).catch((e: unknown) => e)) as VerifierError;
    expect(sys.count('BPF_PROG_LOAD')).toBe(3);
    expect(error.log).toHaveLength(5004);
    expect(error.truncated).toBe(false);
  });

  it('explains a refusal without a log (EPERM) as the synchronous load does', async () => {
    const sys = new FakeSyscalls();
    sys.failNext('BPF_PROG_LOAD', ERRNO.EPERM);
    sys.failNext('BPF_PROG_LOAD', ERRNO.EPERM);
    const error = await Program.loadAsync({ name: 'denied', type: ProgType.XDP, license: 'GPL', instructions: program }, { sys }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgramError);
    expect(error).toMatchObject({ code: 'PROGRAM_LOAD_FAILED' });
    expect((error as Error).message).toMatch(/^program 'denied' could not be loaded \(EPERM\): loading programs needs CAP_BPF/);
  });
});
