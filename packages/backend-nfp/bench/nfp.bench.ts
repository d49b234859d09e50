// npm run bench -w @syrup/backend-nfp: the standard pack compiled for the host (xdp-drv) and for
// the NIC (xdp-offload). Prints which policies offload and why the others do not, key-hash's two
// programs side by side, and, as its last line, one JSON object
// {policies: [{name, hostInsns, nfpInsns}]} for each policy that offloads (instruction slots of
// the eBPF program each target loads; the NFP JIT turns each into several NIC instructions).
import { readFileSync } from 'node:fs';
import { compilePolicy } from '@syrup/core';
import { STANDARD_POLICY_NAMES, standardPolicyPath } from '@syrup/policies-std';
import { disassemble } from '@syrup/backend-ebpf/asm';
import { generateProgram } from '@syrup/backend-ebpf/codegen';
import { AGILIO_DEFAULT_PROFILE, describeProfile, formatViolation, validateForNfp } from '../src/index.js';

const PORT = 9000;
const policies: { name: string; hostInsns: number; nfpInsns: number }[] = [];
console.log(`firmware profile ${describeProfile(AGILIO_DEFAULT_PROFILE)}`);
for (const name of STANDARD_POLICY_NAMES) {
  const text = readFileSync(standardPolicyPath(name), 'utf8');
  const { ir } = compilePolicy({ fileName: `${name}.ts`, text });
  const host = generateProgram(ir, { target: 'xdp-drv', port: PORT });
  const nfp = validateForNfp(ir, { port: PORT });
  if (nfp.spec === undefined) {
    console.log(`${name}: does not offload (${nfp.violations.length} violation${nfp.violations.length === 1 ? '' : 's'})`);
    for (const v of nfp.violations) console.log(`  ${formatViolation(v)}`);
    continue;
  }
  console.log(`${name}: offloads; ${host.slotCount} eBPF instructions for xdp-drv, ${nfp.spec.slotCount} for xdp-offload`);
  policies.push({ name, hostInsns: host.slotCount, nfpInsns: nfp.spec.slotCount });
  if (name === 'key-hash') sideBySide(disassemble(host.instructions).split('\n'), disassemble(nfp.spec.instructions).split('\n'));
}
console.log(JSON.stringify({ policies }));

/** Two listings in two columns: xdp-drv on the left, xdp-offload on the right. */
function sideBySide(left: readonly string[], right: readonly string[]): void {
  const width = Math.max(...left.map((line) => line.length), 'xdp-drv'.length) + 2;
  console.log(`\nkey-hash, one source, two targets:\n${'xdp-drv'.padEnd(width)}xdp-offload`);
  for (let i = 0; i < Math.max(left.length, right.length); i++) console.log(`${(left[i] ?? '').padEnd(width)}${right[i] ?? ''}`);
  console.log('');
}
