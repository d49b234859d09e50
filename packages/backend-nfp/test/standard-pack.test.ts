import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '@syrup/core';
import { STANDARD_POLICY_NAMES, standardPolicyPath } from '@syrup/policies-std';
import { formatViolation, validateForNfp } from '../src/index.js';

/**
 * Which standard policies offload, and why the others do not: the table of the package's
 * README. A change in the validator or the pack that moves a policy must change both.
 */
const TABLE: Record<(typeof STANDARD_POLICY_NAMES)[number], readonly string[]> = {
  'round-robin': ["round-robin.ts:10:12: the answer of fetchAdd() on map 'next' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement)."],
  hash: [],
  'key-hash': [],
  sita: ["sita.ts:19:17: the answer of fetchAdd() on map 'next' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement)."],
  'scan-avoid': [
    "scan-avoid.ts:42:14: the answer of fetchAdd() on map 'next' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement).",
    "scan-avoid.ts:44:28: the answer of fetchAdd() on map 'next' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement).",
  ],
  'get-priority': ["get-priority.ts:1:1: policy 'get-priority' takes thread inputs, which xdp-offload does not offer (it offers udp and packet)."],
  'token-qos': [
    "token-qos.ts:15:9: compareExchange() on map 'tokens' needs an atomic that returns the old value; the NFP has only an atomic add that returns nothing.",
    "token-qos.ts:45:12: the answer of fetchAdd() on map 'next' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement).",
  ],
};

function violations(name: (typeof STANDARD_POLICY_NAMES)[number]): string[] {
  const text = readFileSync(standardPolicyPath(name), 'utf8');
  const ir = compilePolicy({ fileName: `${name}.ts`, text }).ir;
  return validateForNfp(ir).violations.map(formatViolation);
}

describe('the standard pack on the NFP', () => {
  it.each(STANDARD_POLICY_NAMES)('%s', (name) => {
    expect(violations(name)).toEqual(TABLE[name]);
  });
});
