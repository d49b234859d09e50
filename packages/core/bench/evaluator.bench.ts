// Decisions per second of the userspace evaluator on the standard policies, and the warm
// compile time of the front end. Run with `npm run bench` in packages/core. Prints one line per
// measurement, then one JSON object on the last line:
//   { "evaluatorDecisionsPerSec": { "<policy>": n, ... }, "compileMs": x }
// Every figure is the median of several runs. The policies are read from packages/policies-std
// as text (core does not depend on the pack; this file only reads its sources).
import { readFileSync } from 'node:fs';
import { compilePolicy } from '../src/compiler/compile-policy.js';
import type { PolicyEvaluationInput } from '../src/evaluator/evaluation-input.js';
import { PolicyEvaluator } from '../src/evaluator/policy-evaluator.js';

const POLICIES = ['round-robin', 'hash', 'sita', 'scan-avoid', 'token-qos'] as const;
type PolicyName = (typeof POLICIES)[number];
const RUNS = 7;
const DECISIONS = 1_000_000;

const source = (name: PolicyName) => ({
  fileName: `${name}.ts`,
  text: readFileSync(new URL(`../../policies-std/src/${name}.ts`, import.meta.url), 'utf8'),
});

/** A request in the wire format: type, user id, request id, key (big-endian). */
function request(type: number, user: number, id: number): Uint8Array {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type);
  view.setUint32(4, user);
  view.setBigUint64(8, BigInt(id));
  view.setBigUint64(16, BigInt(id * 7919));
  return bytes;
}

/** 64 requests: 90% GET, 10% SCAN, users 0-3, flows spread over 16 source ports. */
function workload(): PolicyEvaluationInput[] {
  return Array.from({ length: 64 }, (_, i) => ({
    srcAddr: 0x0a000001,
    dstAddr: 0x0a000002,
    srcPort: 40000 + (i % 16),
    dstPort: 9000,
    payload: request(i % 10 === 0 ? 1 : 0, i % 4, i),
  }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function decisionsPerSec(name: PolicyName): number {
  const { ir } = compilePolicy(source(name));
  const evaluator = new PolicyEvaluator(ir, { random: () => 4, now: () => 0 });
  if (name === 'scan-avoid') {
    // Two of six sockets busy with a SCAN.
    evaluator.maps.get('busy')!.update(1, [1n]);
    evaluator.maps.get('busy')!.update(4, [1n]);
  }
  if (name === 'token-qos') {
    // Users 0-2 have plenty of tokens; user 3 has none, so a quarter of the requests are dropped.
    for (const user of [0, 1, 2]) evaluator.maps.get('tokens')!.update(user, [1n << 62n]);
  }
  const inputs = workload();
  let sink = 0;
  const run = (count: number): number => {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const decision = evaluator.evaluate(inputs[i & 63] as PolicyEvaluationInput);
      if (decision.kind === 'executor') sink++;
    }
    return performance.now() - start;
  };
  run(200_000);
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) rates.push(DECISIONS / (run(DECISIONS) / 1000));
  if (sink === 0) throw new Error(`${name} made no executor decision`);
  return Math.round(median(rates));
}

function compileMs(): number {
  const sita = source('sita');
  for (let i = 0; i < 50; i++) compilePolicy(sita);
  const times: number[] = [];
  for (let i = 0; i < 101; i++) {
    const start = performance.now();
    compilePolicy(sita);
    times.push(performance.now() - start);
  }
  return Number(median(times).toFixed(3));
}

const evaluatorDecisionsPerSec = {} as Record<PolicyName, number>;
for (const name of POLICIES) {
  evaluatorDecisionsPerSec[name] = decisionsPerSec(name);
  console.log(`${name.padEnd(12)} ${evaluatorDecisionsPerSec[name].toLocaleString('en-US')} decisions/s`);
}
const compile = compileMs();
console.log(`compile sita ${compile} ms (warm, front end only)`);
console.log(JSON.stringify({ evaluatorDecisionsPerSec, compileMs: compile }));
