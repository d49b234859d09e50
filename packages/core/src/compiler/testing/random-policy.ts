import type { DataMapKind } from '@syrup/maps';
import { HELPER_NAMES, type HelperName } from '../../ir/policy-ir.js';
import type { InputKind } from '../../policy/inputs.js';
import { STANDARD_INPUT_FIELDS } from '../../policy/input-fields.js';
import { SeededRandom } from './seeded-random.js';

/** What to generate. */
export interface RandomPolicyOptions {
  readonly seed: number;
  /** The input kind; by default udp half of the time, otherwise any kind. */
  readonly input?: InputKind;
  /**
   * Rough ceiling on the IR instructions of the policy (after inlining and unrolling), kept
   * well under the compiler's budget so every generated policy compiles. Default 1500.
   */
  readonly budget?: number;
  /**
   * Map kinds to declare; default all four. A kernel differential suite may leave out
   * `lru-hash`, whose kernel eviction order is approximate (and may differ from the evaluator's
   * exact LRU once a map overflows).
   */
  readonly mapKinds?: readonly DataMapKind[];
  /** Helpers the code may call; default all three. A kernel suite cannot inject `random` and `now`. */
  readonly helpers?: readonly HelperName[];
}

/** A generated policy module: valid in the policy language, so it must compile. */
export interface RandomPolicy {
  readonly seed: number;
  readonly fileName: string;
  readonly text: string;
  readonly input: InputKind;
}

interface MapDecl {
  readonly name: string;
  readonly kind: DataMapKind;
  readonly maxEntries: number;
}

/** A map as code reaches it (`m0` or `maps.m0`, or a helper's parameter). */
interface MapRef {
  readonly expr: string;
  readonly deletable: boolean;
}

interface Helper {
  readonly name: string;
  readonly ints: number;
  /** Whether it takes a map (and whether the map must allow delete), and the input. */
  readonly map: 'none' | 'any' | 'deletable';
  readonly input: boolean;
  readonly cost: number;
  /** A verdict helper may return PASS or DROP, so it is only ever called as `return h(...)` from schedule. */
  readonly verdict: boolean;
}

interface Ctx {
  readonly ints: string[];
  readonly lets: string[];
  readonly maps: readonly MapRef[];
  readonly input: string | undefined;
  readonly helpers: readonly Helper[];
  readonly loops: number;
  readonly schedule: boolean;
  /** Nesting of blocks, to keep statements from nesting without end. */
  readonly depth: number;
}

type CoreNames = Record<'definePolicy' | 'PASS' | 'DROP' | 'random' | 'now' | 'cpu', string>;

interface Code {
  readonly text: string;
  readonly cost: number;
}

const INPUT_TYPES: Readonly<Record<InputKind, string>> = { udp: 'UdpInput', tcp: 'TcpInput', packet: 'PacketInput', thread: 'ThreadInput' };
/** What policy code may read of an input kind, from the input-field table: `pkt.srcPort`, `pkt.payload.length`. */
const scalarReads = (kind: InputKind): readonly string[] =>
  STANDARD_INPUT_FIELDS.fieldsOf(kind).flatMap((f) => [...(f.member ? [f.name] : []), ...(f.regionLength === undefined ? [] : [`${f.regionLength}.length`])]);
const SCALAR_FIELDS: Readonly<Record<InputKind, readonly string[]>> = { udp: scalarReads('udp'), tcp: scalarReads('tcp'), packet: scalarReads('packet'), thread: scalarReads('thread') };
const ARITHMETIC = ['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>', '>>>'] as const;
const COMPARISONS = ['===', '!==', '==', '!=', '<', '<=', '>', '>='] as const;
const COMPOUND = ['+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=', '>>>='] as const;
const READS = ['u8', 'u16', 'u32', 'u64', 'u16le', 'u32le', 'u64le'] as const;
const MAP_KINDS: readonly DataMapKind[] = ['array', 'hash', 'lru-hash', 'percpu-array'];

/**
 * Generates the TypeScript source of a random valid policy from a seed. It uses the whole
 * policy language: arithmetic (division and remainder by values that may be 0, shifts by any
 * amount, literals beyond 2^53 in hex, binary, octal and with separators), comparisons,
 * if/else, ?:, && and || as values and as conditions, switch with fall-through, bounded for
 * loops with break and continue, payload reads at constant and computed offsets (some past the
 * end), every map operation on array, hash, lru-hash and percpu-array maps, the helpers,
 * same-module functions (declared and arrow, taking integers, a map or the input, assigning
 * their parameters, returning PASS or DROP through a tail call), aliased and namespace
 * imports, top-level constants, and destructured or plain maps and params.
 *
 * Used to fuzz the front end (it must compile every one), to check the evaluator against the
 * reference interpreter, and by backends to check their code against the evaluator. The text is
 * TypeScript the parser accepts and a valid policy; a strict type check may still complain
 * about comparisons between two constants or switch fall-through, which do not concern the
 * policy compiler (it never type-checks).
 */
export function generateRandomPolicy(options: RandomPolicyOptions | number): RandomPolicy {
  const o = typeof options === 'number' ? { seed: options } : options;
  return new PolicyGenerator(o.seed, o.input, o.budget ?? 1500, o.mapKinds ?? MAP_KINDS, o.helpers ?? HELPER_NAMES).generate();
}

class PolicyGenerator {
  readonly #rng: SeededRandom;
  readonly #input: InputKind;
  readonly #budget: number;
  #names = 0;
  readonly #core: CoreNames;
  #coreImport = '';
  readonly #maps: MapDecl[] = [];
  readonly #params = new Map<string, bigint>();
  readonly #constants: string[] = [];
  #usesTypes = new Set<string>();

  constructor(
    readonly seed: number,
    input: InputKind | undefined,
    budget: number,
    private readonly mapKinds: readonly DataMapKind[],
    private readonly helpers: readonly HelperName[],
  ) {
    this.#rng = new SeededRandom(seed);
    const rng = this.#rng;
    this.#input = input ?? (rng.chance(0.5) ? 'udp' : rng.pick(['udp', 'tcp', 'packet', 'thread'] as const));
    this.#budget = budget;
    const style = rng.int(4);
    const names = ['definePolicy', 'PASS', 'DROP', 'random', 'now', 'cpu'] as const;
    if (style === 0) {
      this.#core = Object.fromEntries(names.map((n) => [n, `syrup.${n}`])) as CoreNames;
      this.#coreImport = `import * as syrup from '@syrup/core';`;
    } else if (style === 1) {
      this.#core = Object.fromEntries(names.map((n) => [n, `${n}_`])) as CoreNames;
      this.#coreImport = `import { ${names.map((n) => `${n} as ${n}_`).join(', ')} } from '@syrup/core';`;
    } else {
      this.#core = Object.fromEntries(names.map((n) => [n, n])) as CoreNames;
      this.#coreImport = `import { ${names.join(', ')} } from '@syrup/core';`;
    }
  }

  generate(): RandomPolicy {
    const rng = this.#rng;
    for (let i = this.mapKinds.length === 0 ? 0 : rng.int(4); i > 0; i--) {
      const kind = rng.pick(this.mapKinds);
      this.#maps.push({ name: `m${this.#maps.length}`, kind, maxEntries: rng.pick([1, 2, 3, 4, 8, 16]) });
    }
    for (let i = rng.range(1, 3); i > 0; i--) {
      const value = rng.chance(0.15) ? rng.pick([0xffff_ffff_ffff_ffffn, 1n << 63n, 0x1_0000_0001n]) : BigInt(rng.range(0, 6));
      this.#params.set(`P${this.#params.size}`, value);
    }
    const top: string[] = [];
    for (let i = rng.int(3); i > 0; i--) {
      const name = `K${this.#constants.length}`;
      top.push(`const ${name}: number = ${this.#literal()};`);
      this.#constants.push(name);
    }

    const helpers: Helper[] = [];
    const helperTexts: string[] = [];
    for (let i = rng.int(4); i > 0; i--) {
      const { helper, text } = this.#helper(helpers, false);
      helpers.push(helper);
      helperTexts.push(text);
    }
    if (rng.chance(0.4)) {
      const { helper, text } = this.#helper(helpers, true);
      helpers.push(helper);
      helperTexts.push(text);
    }

    const destructure = rng.chance(0.7);
    const mapRefs = this.#maps.map((m) => ({ expr: destructure ? m.name : `maps.${m.name}`, deletable: m.kind === 'hash' || m.kind === 'lru-hash' }));
    const paramNames = [...this.#params.keys()].map((p) => (destructure ? p : `params.${p}`));
    const ctx: Ctx = {
      ints: [...this.#constants, ...paramNames.filter((_, i) => this.#paramValue(i) < 1n << 53n || rng.chance(0.5))],
      lets: [],
      maps: mapRefs,
      input: 'pkt',
      helpers,
      loops: 0,
      schedule: true,
      depth: 0,
    };
    this.#paramNames = paramNames;
    const body = this.#statements(ctx, this.#budget - 10, rng.range(3, 10));
    const ending = this.#finalReturn(ctx);
    const mapsParam = destructure ? `{ ${this.#maps.map((m) => m.name).join(', ')} }` : 'maps';
    const paramsParam = destructure ? `{ ${[...this.#params.keys()].join(', ')} }` : 'params';
    const manifestMaps = this.#maps.map((m) => `    ${m.name}: { kind: '${m.kind}', key: 'u32', value: 'u64', maxEntries: ${m.maxEntries} },`);
    const manifestParams = [...this.#params].map(([p, v]) => `${p}: ${v > 1n << 53n ? `0x${v.toString(16)}` : v}`);
    const typeImports = [...this.#usesTypes].sort();
    const text = [
      this.#coreImport,
      ...(typeImports.length > 0 ? [`import type { ${typeImports.join(', ')} } from '@syrup/core';`] : []),
      '',
      ...top,
      '',
      ...helperTexts,
      `export default ${this.#core.definePolicy}({`,
      `  name: 'random-${this.seed >>> 0}',`,
      `  input: '${this.#input}',`,
      ...(this.#maps.length > 0 || rng.chance(0.5) ? ['  maps: {', ...manifestMaps, '  },'] : []),
      `  params: { ${manifestParams.join(', ')} },`,
      `  schedule(pkt, ${mapsParam}, ${paramsParam}) {`,
      ...indent([...body.text.split('\n').filter((l) => l !== ''), ...ending.split('\n')], 2),
      '  },',
      '});',
      '',
    ].join('\n');
    return { seed: this.seed, fileName: `random-${this.seed >>> 0}.ts`, text, input: this.#input };
  }

  #paramNames: string[] = [];

  #paramValue(index: number): bigint {
    return [...this.#params.values()][index] ?? 0n;
  }

  #name(prefix: string): string {
    return `${prefix}${this.#names++}`;
  }

  // ---------------------------------------------------------------- helpers

  #helper(earlier: readonly Helper[], verdict: boolean): { helper: Helper; text: string } {
    const rng = this.#rng;
    const name = this.#name(verdict ? 'pick' : 'h');
    const ints = rng.range(verdict ? 0 : 1, 3);
    const intNames = Array.from({ length: ints }, () => this.#name('a'));
    const map: Helper['map'] = this.#maps.length === 0 || rng.chance(0.5) ? 'none' : rng.chance(0.5) ? 'deletable' : 'any';
    const hasDeletable = this.#maps.some((m) => m.kind === 'hash' || m.kind === 'lru-hash');
    const mapKind: Helper['map'] = map === 'deletable' && !hasDeletable ? 'any' : map;
    const input = verdict || rng.chance(0.4);
    const mapName = this.#name('map');
    const params = [
      ...intNames.map((a) => `${a}: number`),
      ...(mapKind !== 'none' ? [`${mapName}: PolicyMap`] : []),
      ...(input ? [`pkt: ${INPUT_TYPES[this.#input]}`] : []),
    ];
    if (mapKind !== 'none') this.#usesTypes.add('PolicyMap');
    if (input) this.#usesTypes.add(INPUT_TYPES[this.#input]);
    const ctx: Ctx = {
      ints: [...this.#constants, ...intNames],
      lets: rng.chance(0.5) ? [...intNames] : [],
      maps: mapKind === 'none' ? [] : [{ expr: mapName, deletable: mapKind === 'deletable' }],
      input: input ? 'pkt' : undefined,
      helpers: earlier.filter((h) => !h.verdict),
      loops: 0,
      schedule: false,
      depth: 0,
    };
    const budget = verdict ? 120 : rng.range(20, 80);
    if (!verdict && rng.chance(0.3)) {
      // An arrow function with an expression body.
      const value = this.#num(ctx, 2, budget);
      const text = `const ${name} = (${params.join(', ')}): number => ${value.text};\n`;
      return { helper: { name, ints, map: mapKind, input, cost: value.cost + 2, verdict }, text };
    }
    const body = this.#statements(ctx, budget - 20, rng.range(0, 3), verdict);
    const ret = this.#num(ctx, 2, 15);
    const lines = [...body.text.split('\n').filter((l) => l !== ''), `return ${ret.text};`];
    const returns = verdict ? '' : ': number';
    const text = [`function ${name}(${params.join(', ')})${returns} {`, ...indent(lines, 1), '}', ''].join('\n');
    return { helper: { name, ints, map: mapKind, input, cost: body.cost + ret.cost + 4 + ints, verdict }, text };
  }

  #callable(ctx: Ctx, budget: number, verdict: boolean): Helper[] {
    return ctx.helpers.filter(
      (h) =>
        h.verdict === verdict &&
        h.cost + h.ints * 2 + 4 <= budget &&
        (!h.input || ctx.input !== undefined) &&
        (h.map === 'none' || ctx.maps.some((m) => h.map === 'any' || m.deletable)),
    );
  }

  #callText(h: Helper, ctx: Ctx, budget: number): Code {
    const rng = this.#rng;
    const args: string[] = [];
    let cost = h.cost + 3;
    for (let i = 0; i < h.ints; i++) {
      const a = this.#num(ctx, 1, Math.max(0, Math.floor((budget - cost) / (h.ints + 1))));
      args.push(a.text);
      cost += a.cost + 1;
    }
    if (h.map !== 'none') args.push(rng.pick(ctx.maps.filter((m) => h.map === 'any' || m.deletable)).expr);
    if (h.input) args.push(ctx.input as string);
    return { text: `${h.name}(${args.join(', ')})`, cost };
  }

  // ---------------------------------------------------------------- statements

  #statements(ctx: Ctx, budget: number, count: number, verdictReturns = false): Code {
    const lines: string[] = [];
    let left = budget;
    let cost = 0;
    for (let i = 0; i < count && left > 3; i++) {
      const s = this.#statement(ctx, left, verdictReturns);
      lines.push(s.text);
      left -= s.cost;
      cost += s.cost;
    }
    return { text: lines.join('\n'), cost };
  }

  #statement(ctx: Ctx, budget: number, verdictReturns: boolean): Code {
    const rng = this.#rng;
    const choice = rng.int(100);
    const deep = ctx.depth >= 3 || budget < 20;
    if (choice < 18 || deep) return this.#declaration(ctx, budget);
    if (choice < 32 && ctx.lets.length > 0) return this.#assignment(ctx, budget);
    if (choice < 44) return this.#if(ctx, budget, verdictReturns);
    if (choice < 52) return this.#switch(ctx, budget, verdictReturns);
    if (choice < 62 && ctx.loops < 2) return this.#for(ctx, budget, verdictReturns);
    if (choice < 72 && ctx.maps.length > 0) return this.#mapStatement(ctx, budget);
    if (choice < 78) {
      const callable = this.#callable(ctx, budget, false);
      if (callable.length > 0) {
        const call = this.#callText(rng.pick(callable), ctx, budget);
        return { text: `${call.text};`, cost: call.cost };
      }
    }
    if (choice < 86 && ctx.loops > 0) {
      const cond = this.#bool(ctx, 1, Math.min(budget, 10));
      return { text: `if (${cond.text}) ${rng.chance(0.5) ? 'break' : 'continue'};`, cost: cond.cost + 2 };
    }
    if (choice < 94) {
      const cond = this.#bool(ctx, 2, Math.min(budget, 20));
      const ret = this.#returnText(ctx, Math.min(budget - cond.cost, 30), verdictReturns);
      return { text: `if (${cond.text}) ${ret.text}`, cost: cond.cost + ret.cost + 2 };
    }
    return this.#declaration(ctx, budget);
  }

  #declaration(ctx: Ctx, budget: number): Code {
    const rng = this.#rng;
    const value = this.#num(ctx, rng.range(0, 3), Math.min(budget - 1, 40));
    if (rng.chance(0.6)) {
      const name = this.#name('v');
      ctx.ints.push(name);
      ctx.lets.push(name);
      return { text: `let ${name}: number = ${value.text};`, cost: value.cost + 1 };
    }
    const name = this.#name('c');
    ctx.ints.push(name);
    return { text: `const ${name}: number = ${value.text};`, cost: value.cost + 1 };
  }

  #assignment(ctx: Ctx, budget: number): Code {
    const rng = this.#rng;
    const target = rng.pick(ctx.lets);
    const form = rng.int(10);
    if (form === 0) return { text: `${target}++;`, cost: 1 };
    if (form === 1) return { text: `${target}--;`, cost: 1 };
    const value = this.#num(ctx, rng.range(0, 2), Math.min(budget - 2, 30));
    if (form < 5) return { text: `${target} = ${value.text};`, cost: value.cost + 1 };
    if (form === 5) return { text: `${target} ${rng.pick(['&&=', '||='])} ${value.text};`, cost: value.cost + 3 };
    return { text: `${target} ${rng.pick(COMPOUND)} ${value.text};`, cost: value.cost + 1 };
  }

  #block(ctx: Ctx, budget: number, count: number, verdictReturns: boolean, loop = false): Code {
    const inner: Ctx = { ...ctx, ints: [...ctx.ints], lets: [...ctx.lets], depth: ctx.depth + 1, loops: ctx.loops + (loop ? 1 : 0) };
    return this.#statements(inner, budget, count, verdictReturns);
  }

  #if(ctx: Ctx, budget: number, verdictReturns: boolean): Code {
    const rng = this.#rng;
    const cond = this.#bool(ctx, 2, Math.min(20, budget / 4));
    const then = this.#block(ctx, (budget - cond.cost) / 2, rng.range(1, 3), verdictReturns);
    let text = `if (${cond.text}) {\n${indent(then.text.split('\n'), 1).join('\n')}\n}`;
    let cost = cond.cost + then.cost + 2;
    if (rng.chance(0.5)) {
      const otherwise = this.#block(ctx, (budget - cond.cost) / 2, rng.range(1, 3), verdictReturns);
      text += ` else {\n${indent(otherwise.text.split('\n'), 1).join('\n')}\n}`;
      cost += otherwise.cost + 1;
    }
    return { text, cost };
  }

  #switch(ctx: Ctx, budget: number, verdictReturns: boolean): Code {
    const rng = this.#rng;
    const discriminant = this.#num(ctx, 1, Math.min(15, budget / 4));
    const used = new Set<bigint>();
    const clauses: string[] = [];
    let cost = discriminant.cost + 2;
    const count = rng.range(1, 4);
    for (let i = 0; i < count; i++) {
      let label: string | undefined;
      for (let attempt = 0; attempt < 4 && label === undefined; attempt++) {
        const params = ctx.schedule ? [...this.#params.keys()] : [];
        const p = rng.int(params.length + 1);
        const value = p < params.length ? this.#paramValue(p) : BigInt(rng.range(0, 5));
        if (used.has(value)) continue;
        used.add(value);
        label = p < params.length ? (this.#paramNames[p] as string) : String(value);
      }
      if (label === undefined) continue;
      const body = this.#block(ctx, (budget - cost) / (count + 1), rng.range(0, 2), verdictReturns);
      const end = rng.chance(0.7) ? ['break;'] : [];
      clauses.push(`case ${label}: {`, ...indent([...body.text.split('\n').filter((l) => l !== ''), ...end], 1), '}');
      cost += body.cost + 2;
    }
    if (rng.chance(0.6)) {
      const body = this.#block(ctx, (budget - cost) / 2, rng.range(0, 2), verdictReturns);
      clauses.push('default: {', ...indent(body.text.split('\n').filter((l) => l !== ''), 1), '}');
      cost += body.cost + 1;
    }
    return { text: `switch (${discriminant.text}) {\n${indent(clauses, 1).join('\n')}\n}`, cost };
  }

  #for(ctx: Ctx, budget: number, verdictReturns: boolean): Code {
    const rng = this.#rng;
    const i = this.#name('i');
    const small = [...this.#params.keys()].map((p, k) => [p, this.#paramValue(k)] as const).filter(([, v]) => v <= 4n);
    let header: string;
    let trips: number;
    const form = rng.int(4);
    if (form === 0 && small.length > 0 && ctx.schedule) {
      const [p, v] = rng.pick(small);
      const name = this.#paramNames[[...this.#params.keys()].indexOf(p)] as string;
      header = `for (let ${i} = 0; ${i} < ${name}; ${i}++)`;
      trips = Number(v);
    } else if (form === 1) {
      const end = rng.range(0, 6);
      header = `for (let ${i} = 1; ${i} <= ${end}; ${i} += 2)`;
      trips = end >= 1 ? Math.floor((end - 1) / 2) + 1 : 0;
    } else if (form === 2) {
      const start = rng.range(1, 4);
      header = `for (let ${i} = ${start}; ${i} > 0; ${i}--)`;
      trips = start;
    } else {
      const end = rng.range(1, 4);
      header = `for (let ${i} = 0; ${i} < ${end}; ++${i})`;
      trips = end;
    }
    const inner: Ctx = { ...ctx, ints: [...ctx.ints, i] };
    const body = this.#block(inner, Math.max(0, budget / Math.max(1, trips) - 2), rng.range(1, 3), verdictReturns, true);
    return { text: `${header} {\n${indent(body.text.split('\n'), 1).join('\n')}\n}`, cost: (body.cost + 2) * Math.max(1, trips) + 2 };
  }

  #mapStatement(ctx: Ctx, budget: number): Code {
    const rng = this.#rng;
    const map = rng.pick(ctx.maps);
    const key = this.#key(ctx, Math.min(10, budget / 3));
    const choice = rng.int(4);
    if (choice === 0 && map.deletable) return { text: `${map.expr}.delete(${key.text});`, cost: key.cost + 1 };
    const value = this.#num(ctx, 1, Math.min(15, budget / 3));
    if (choice === 1) return { text: `${map.expr}.fetchAdd(${key.text}, ${value.text});`, cost: key.cost + value.cost + 1 };
    return { text: `${map.expr}.set(${key.text}, ${value.text});`, cost: key.cost + value.cost + 1 };
  }

  #returnText(ctx: Ctx, budget: number, verdictReturns: boolean): Code {
    const rng = this.#rng;
    if ((ctx.schedule || verdictReturns) && rng.chance(0.3)) return { text: `return ${rng.pick([this.#core.PASS, this.#core.DROP])};`, cost: 1 };
    if (ctx.schedule && rng.chance(0.3)) {
      const verdicts = this.#callable(ctx, budget, true);
      if (verdicts.length > 0) {
        const call = this.#callText(rng.pick(verdicts), ctx, budget);
        return { text: `return ${call.text};`, cost: call.cost };
      }
    }
    const value = this.#num(ctx, 2, Math.max(0, budget - 1));
    if (ctx.schedule && rng.chance(0.2)) {
      const cond = this.#bool(ctx, 1, 8);
      return { text: `return ${cond.text} ? ${this.#core.PASS} : ${value.text};`, cost: value.cost + cond.cost + 2 };
    }
    return { text: `return ${value.text};`, cost: value.cost + 1 };
  }

  #finalReturn(ctx: Ctx): string {
    return this.#returnText(ctx, 40, false).text;
  }

  // ---------------------------------------------------------------- expressions

  #literal(): string {
    const rng = this.#rng;
    const choice = rng.int(20);
    if (choice < 10) return String(rng.range(0, 9));
    switch (choice) {
      case 10:
        return `0x${rng.u32().toString(16)}`;
      case 11:
        return `0b${rng.range(0, 255).toString(2)}`;
      case 12:
        return `0o${rng.range(0, 511).toString(8)}`;
      case 13:
        return rng.pick(['1_000_000', '0xFFFF_FFFF', '4_294_967_296']);
      case 14:
        return rng.pick(['0xFFFF_FFFF_FFFF_FFFF', '18446744073709551615', '9007199254740993', '0x8000_0000_0000_0000']);
      case 15:
        return `0x${rng.u64().toString(16)}`;
      default:
        return String(rng.u32() % 100_000);
    }
  }

  #leaf(ctx: Ctx): Code {
    const rng = this.#rng;
    const choice = rng.int(10);
    if (choice < 4 && ctx.ints.length > 0) return { text: rng.pick(ctx.ints), cost: 0 };
    if (choice < 6 && ctx.input) {
      return { text: `${ctx.input}.${rng.pick(SCALAR_FIELDS[this.#input])}`, cost: 1 };
    }
    if (choice === 6 && rng.chance(0.3) && this.helpers.length > 0) return { text: `${this.#core[rng.pick(this.helpers)]}()`, cost: 1 };
    return { text: this.#literal(), cost: 0 };
  }

  #key(ctx: Ctx, budget: number): Code {
    const rng = this.#rng;
    if (rng.chance(0.4)) return { text: String(rng.range(0, 9)), cost: 0 };
    const k = this.#num(ctx, 1, budget - 1);
    return rng.chance(0.7) ? { text: `(${k.text}) % ${rng.pick([2, 4, 8, 17])}`, cost: k.cost + 1 } : k;
  }

  #num(ctx: Ctx, depth: number, budget: number): Code {
    const rng = this.#rng;
    if (depth <= 0 || budget < 3) return this.#leaf(ctx);
    const choice = rng.int(100);
    const half = (budget - 1) / 2;
    if (choice < 30) {
      const a = this.#num(ctx, depth - 1, half);
      const b = this.#num(ctx, depth - 1, half);
      return { text: `(${a.text} ${rng.pick(ARITHMETIC)} ${b.text})`, cost: a.cost + b.cost + 1 };
    }
    if (choice < 36) {
      const a = this.#num(ctx, depth - 1, budget - 1);
      return { text: `${rng.pick(['-', '~', '+'])}(${a.text})`, cost: a.cost + 1 };
    }
    if (choice < 44 && budget > 10) {
      const c = this.#bool(ctx, depth - 1, budget / 3);
      const a = this.#num(ctx, depth - 1, budget / 3);
      const b = this.#num(ctx, depth - 1, budget / 3);
      return { text: `(${c.text} ? ${a.text} : ${b.text})`, cost: a.cost + b.cost + c.cost + 4 };
    }
    if (choice < 50 && budget > 6) {
      const a = this.#num(ctx, depth - 1, half - 2);
      const b = this.#num(ctx, depth - 1, half - 2);
      return { text: `(${a.text} ${rng.pick(['&&', '||'])} ${b.text})`, cost: a.cost + b.cost + 4 };
    }
    if (choice < 62 && (this.#input === 'udp' || this.#input === 'packet') && ctx.input) {
      const region = this.#input === 'udp' ? 'payload' : 'data';
      const read = rng.pick(READS);
      if (rng.chance(0.6)) return { text: `${ctx.input}.${region}.${read}(${rng.range(0, 40)})`, cost: 2 };
      const offset = this.#num(ctx, depth - 1, budget - 3);
      return { text: `${ctx.input}.${region}.${read}((${offset.text}) % ${rng.pick([8, 16, 32, 64])})`, cost: offset.cost + 3 };
    }
    if (choice < 78 && ctx.maps.length > 0 && budget > 5) {
      const map = rng.pick(ctx.maps);
      const key = this.#key(ctx, budget / 3);
      const op = rng.int(3);
      if (op === 0) return { text: `${map.expr}.get(${key.text})`, cost: key.cost + 1 };
      const a = this.#num(ctx, depth - 1, budget / 3);
      if (op === 1) return { text: `${map.expr}.fetchAdd(${key.text}, ${a.text})`, cost: key.cost + a.cost + 1 };
      const b = this.#num(ctx, 0, 0);
      return { text: `${map.expr}.compareExchange(${key.text}, ${a.text}, ${b.text})`, cost: key.cost + a.cost + b.cost + 1 };
    }
    if (choice < 86) {
      const callable = this.#callable(ctx, budget, false);
      if (callable.length > 0) return this.#callText(rng.pick(callable), ctx, budget);
    }
    return this.#leaf(ctx);
  }

  #bool(ctx: Ctx, depth: number, budget: number): Code {
    const rng = this.#rng;
    if (depth <= 0 || budget < 3 || rng.chance(0.5)) {
      const a = this.#num(ctx, Math.max(0, depth - 1), (budget - 1) / 2);
      const b = this.#num(ctx, 0, (budget - 1) / 2);
      return { text: `${a.text} ${rng.pick(COMPARISONS)} ${b.text}`, cost: a.cost + b.cost + 1 };
    }
    const choice = rng.int(10);
    if (choice < 2) return { text: rng.pick(['true', 'false']), cost: 0 };
    if (choice < 4) {
      const a = this.#bool(ctx, depth - 1, budget - 1);
      return { text: `!(${a.text})`, cost: a.cost + 1 };
    }
    if (choice < 6) {
      const a = this.#num(ctx, depth - 1, budget - 1);
      return { text: `!(${a.text})`, cost: a.cost + 1 };
    }
    const a = this.#bool(ctx, depth - 1, (budget - 1) / 2);
    const b = this.#bool(ctx, depth - 1, (budget - 1) / 2);
    return { text: `(${a.text}) ${rng.pick(['&&', '||'])} (${b.text})`, cost: a.cost + b.cost + 2 };
  }
}

function indent(lines: readonly string[], levels: number): string[] {
  const pad = '  '.repeat(levels);
  return lines.map((line) => (line === '' ? line : pad + line));
}
