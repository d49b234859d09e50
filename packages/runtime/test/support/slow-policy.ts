/**
 * A policy that is slow to compile by construction, yet valid: a chain of functions where each
 * calls the previous one twice, reached only from dead code. The front end inlines and walks
 * all of it (about 2^levels steps: the work grows with every level) and then emits almost
 * nothing, so it stays under the IR size limit. At 14 levels it stays under core's bound of
 * 250k lowering steps and takes, on any machine, far more than the few milliseconds the
 * tests give it when they want a compile to time out.
 */
export function slowPolicyText(levels = 14): string {
  let functions = 'function f0(x: number): number { return x + 1; }\n';
  for (let i = 1; i <= levels; i++) functions += `function f${i}(x: number): number { return f${i - 1}(x) + f${i - 1}(x); }\n`;
  return [
    "import { definePolicy, PASS } from '@syrup/core';",
    functions,
    'export default definePolicy({',
    "  name: 'slow-to-compile',",
    "  input: 'udp',",
    `  schedule(pkt) { if (pkt.len > 100000) { if (0 === 1) { return f${levels}(pkt.len); } } return PASS; },`,
    '});',
    '',
  ].join('\n');
}

/** A policy whose only map is a hash of `entries` u32 -> u64 entries: entries x 12 bytes of map memory. */
export function mapPolicyText(name: string, entries: number): string {
  return [
    "import { definePolicy, PASS } from '@syrup/core';",
    'export default definePolicy({',
    `  name: '${name}',`,
    "  input: 'udp',",
    `  maps: { table: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: ${entries} } },`,
    '  schedule(pkt, { table }) { table.fetchAdd(0, 1); return PASS; },',
    '});',
    '',
  ].join('\n');
}
