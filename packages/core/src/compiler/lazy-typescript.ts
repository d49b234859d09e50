import { createRequire } from 'node:module';
import type * as TypeScript from 'typescript';

let loaded: typeof TypeScript | undefined;

/** The TypeScript compiler API, required on first use (9 MB of JavaScript to parse, ~60 MB resident). */
function load(): typeof TypeScript {
  loaded ??= createRequire(import.meta.url)('typescript') as typeof TypeScript;
  return loaded;
}

/**
 * `ts` for the policy front end, loaded when a policy is first compiled rather than when
 * @syrup/core is imported: a process that imports core and never compiles (the CLI, syrupd's
 * main thread, whose compiles run in a worker) does not pay for the compiler. Every property
 * read goes to the real module; the namespace below gives the type names the front end uses.
 */
const ts = new Proxy({} as typeof TypeScript, {
  get: (_target, key) => Reflect.get(load(), key) as unknown,
  has: (_target, key) => Reflect.has(load(), key),
});

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace ts {
  export type ArrowFunction = TypeScript.ArrowFunction;
  export type AsExpression = TypeScript.AsExpression;
  export type BigIntLiteral = TypeScript.BigIntLiteral;
  export type BinaryExpression = TypeScript.BinaryExpression;
  export type BindingElement = TypeScript.BindingElement;
  export type CallExpression = TypeScript.CallExpression;
  export type ConciseBody = TypeScript.ConciseBody;
  export type Diagnostic = TypeScript.Diagnostic;
  export type Expression = TypeScript.Expression;
  export type ForStatement = TypeScript.ForStatement;
  export type FunctionDeclaration = TypeScript.FunctionDeclaration;
  export type FunctionExpression = TypeScript.FunctionExpression;
  export type Identifier = TypeScript.Identifier;
  export type MethodDeclaration = TypeScript.MethodDeclaration;
  export type Node = TypeScript.Node;
  export type NodeFlags = TypeScript.NodeFlags;
  export type NonNullExpression = TypeScript.NonNullExpression;
  export type NumericLiteral = TypeScript.NumericLiteral;
  export type ObjectBindingPattern = TypeScript.ObjectBindingPattern;
  export type ObjectLiteralElementLike = TypeScript.ObjectLiteralElementLike;
  export type ObjectLiteralExpression = TypeScript.ObjectLiteralExpression;
  export type ParameterDeclaration = TypeScript.ParameterDeclaration;
  export type ParenthesizedExpression = TypeScript.ParenthesizedExpression;
  export type PropertyAccessExpression = TypeScript.PropertyAccessExpression;
  export type PropertyAssignment = TypeScript.PropertyAssignment;
  export type PropertyName = TypeScript.PropertyName;
  export type ReturnStatement = TypeScript.ReturnStatement;
  export type SatisfiesExpression = TypeScript.SatisfiesExpression;
  export type ScriptKind = TypeScript.ScriptKind;
  export type ScriptTarget = TypeScript.ScriptTarget;
  export type SourceFile = TypeScript.SourceFile;
  export type Statement = TypeScript.Statement;
  export type SwitchStatement = TypeScript.SwitchStatement;
  export type SyntaxKind = TypeScript.SyntaxKind;
  export type TypeAssertion = TypeScript.TypeAssertion;
  export type VariableDeclarationList = TypeScript.VariableDeclarationList;
}

export default ts;

/**
 * A lookup table built on first use, for module-level tables keyed by `ts.SyntaxKind`, whose
 * values exist only once TypeScript is loaded.
 */
export function lazyMap<K, V>(entries: () => Iterable<readonly [K, V]>): Pick<ReadonlyMap<K, V>, 'get' | 'has'> {
  let map: ReadonlyMap<K, V> | undefined;
  const built = (): ReadonlyMap<K, V> => (map ??= new Map(entries()));
  return { get: (key) => built().get(key), has: (key) => built().has(key) };
}
