import { compilePolicy, SyrupError, type PolicyIr } from '@syrup/core';
import { afterAll, describe, expect, it } from 'vitest';
import { Instruction } from '../../../src/asm/index.js';
import { CodegenError } from '../../../src/codegen/codegen-error.js';
import { generateProgram } from '../../../src/codegen/generate-program.js';
import { programListing } from '../../../src/codegen/program-listing.js';
import { CodegenPool } from '../../../src/codegen/worker/codegen-pool.js';

/** The syrupd bench's near-limit policy: a 1000-iteration unrolled loop of payload reads. */
function nearLimitIr(): PolicyIr {
  const text = [
    "import { definePolicy } from '@syrup/core';",
    "export default definePolicy({ name: 'near-limit', input: 'udp', maps: {}, params: {},",
    '  schedule(pkt) { let x = 0; for (let i = 0; i < 1000; i++) { x += pkt.payload.u8(i); } return x; } });',
  ].join('\n');
  return compilePolicy({ fileName: 'near-limit.ts', text }).ir;
}

/** 98 nested map reads: refused for its stack at one of the terms (stack-overflow-position.test.ts). */
function stackOverflowIr(): PolicyIr {
  const terms = Array.from({ length: 98 }, (_, i) => `next.get(${i % 4}) + (`).join('');
  const text = [
    `import { definePolicy } from '@syrup/core';`,
    `export default definePolicy({`,
    `  name: 'nested-gets',`,
    `  input: 'udp',`,
    `  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },`,
    `  schedule(pkt, { next }) {`,
    `    return ${terms}1${')'.repeat(98)};`,
    `  },`,
    `});`,
  ].join('\n');
  return compilePolicy({ fileName: 'nested.ts', text }).ir;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail('expected the generation to be refused');
}

describe('CodegenPool', () => {
  const pool = new CodegenPool();
  afterAll(() => pool.close());

  it('generates on its worker the very program the generator makes on the calling thread', async () => {
    const ir = nearLimitIr();
    const options = { target: 'xdp-skb', port: 9000, sourceText: 'line one\nline two\nline three' } as const;
    const spec = await pool.generate(ir, options);
    expect(spec.instructions.every((item) => item instanceof Instruction || (item as { kind?: string }).kind === 'label')).toBe(true);
    const onThisThread = generateProgram(ir, options);
    expect(spec).toEqual(onThisThread);
    // disasm's listing comes made with it, the same lines as made here.
    expect(pool.listingOf(spec)).toEqual(programListing(onThisThread));
    expect(pool.listingOf(onThisThread)).toBeUndefined();
  }, 60_000);

  it('keeps the event loop turning while a near-limit policy is generated', async () => {
    const ir = nearLimitIr();
    let turns = 0;
    let turning = true;
    const turn = (): void => {
      turns++;
      if (turning) setImmediate(turn);
    };
    // The same work on the loop itself: not one turn until it is over.
    setImmediate(turn);
    generateProgram(ir, { target: 'socket-select' });
    expect(turns).toBe(0);

    const begin = turns;
    const spec = await pool.generate(ir, { target: 'socket-select' });
    turning = false;
    expect(spec.slotCount).toBeGreaterThan(1000);
    // Hundreds of milliseconds on a cold worker, tens warm: the loop turned throughout.
    expect(turns - begin).toBeGreaterThan(10);
  }, 60_000);

  it('refuses with the same class, code, sentence and position as the generator', async () => {
    const ir = stackOverflowIr();
    let expected: CodegenError | undefined;
    try {
      generateProgram(ir, { target: 'socket-select' });
    } catch (error) {
      expected = error as CodegenError;
    }
    expect(expected).toBeInstanceOf(CodegenError);
    const error = await rejection(pool.generate(ir, { target: 'socket-select' }));
    expect(error).toBeInstanceOf(CodegenError);
    expect(error).toMatchObject({ code: 'CODEGEN_STACK_OVERFLOW', message: expected?.message, location: expected?.location });
    expect((error as CodegenError).location?.file).toBe('nested.ts');
  }, 60_000);

  it('refuses a target id the generator does not know, in the generator\'s sentence', async () => {
    const error = await rejection(pool.generate(nearLimitIr(), { target: 'no-such-hook' as 'xdp-skb' }));
    expect(error).toBeInstanceOf(CodegenError);
    expect(error).toMatchObject({ code: 'CODEGEN_INVALID_OPTION', message: "'no-such-hook' is not a hook the eBPF code generator builds for." });
  }, 60_000);

  it('generates jobs sent at once, each its own program, on up to two workers', async () => {
    const ir = nearLimitIr();
    const [xdp, socket, refused] = await Promise.allSettled([
      pool.generate(ir, { target: 'xdp-drv', port: 53 }),
      pool.generate(ir, { target: 'socket-select' }),
      pool.generate(stackOverflowIr(), { target: 'socket-select' }),
    ]);
    expect(xdp).toMatchObject({ status: 'fulfilled', value: { target: 'xdp-drv', programType: 'xdp' } });
    expect(socket).toMatchObject({ status: 'fulfilled', value: { target: 'socket-select', programType: 'sk_reuseport' } });
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'CODEGEN_STACK_OVERFLOW' } });
  }, 60_000);

  it('refuses every job after close()', async () => {
    const closing = new CodegenPool();
    await closing.close();
    const error = await rejection(closing.generate(nearLimitIr(), { target: 'socket-select' }));
    expect(error).toBeInstanceOf(SyrupError);
    expect(error).toMatchObject({ code: 'CODEGEN_CLOSED', message: 'the eBPF code generator is shut down.' });
  });
});
