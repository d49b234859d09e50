import { compilePolicy, type CompilePolicyOptions } from '../../src/compiler/compile-policy.js';
import type { PolicyIr } from '../../src/ir/policy-ir.js';
import { verifyPolicyIr } from '../../src/ir/verify-policy-ir.js';

/** Wraps a schedule body into a udp policy module with one array map `next` and param SOCKETS. */
export function udpPolicy(body: string, options: { top?: string; maps?: string; params?: string; signature?: string; input?: string } = {}): string {
  return [
    `import { definePolicy, PASS, DROP, random, now, cpu } from '@syrup/core';`,
    `import type { PolicyMap, UdpInput } from '@syrup/core';`,
    options.top ?? '',
    `export default definePolicy({`,
    `  name: 'test',`,
    `  input: '${options.input ?? 'udp'}',`,
    `  maps: ${options.maps ?? `{ next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } }`},`,
    `  params: ${options.params ?? '{ SOCKETS: 4 }'},`,
    `  schedule(${options.signature ?? 'pkt, { next }, { SOCKETS }'}) {`,
    body,
    `  },`,
    `});`,
  ].join('\n');
}

/** Compiles a module's text and checks the IR against its contract. */
export function compileText(text: string, options?: CompilePolicyOptions, fileName = 'test.ts'): PolicyIr {
  const { ir } = compilePolicy({ fileName, text }, options);
  verifyPolicyIr(ir);
  return ir;
}

/** The compile error message for a module's text, or undefined when it compiles. */
export function compileError(text: string, options?: CompilePolicyOptions, fileName = 'test.ts'): string | undefined {
  try {
    compilePolicy({ fileName, text }, options);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
