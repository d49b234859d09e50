import ts from './lazy-typescript.js';
import { PolicyDefinitionError } from '../errors/syrup-error.js';
import { parsePolicyManifest, type PolicyManifest } from '../policy/define-policy.js';
import { parseIntegerLiteral } from './integer-literal.js';
import { propertyNameText, unwrapExpression, type SourceContext } from './source-context.js';

/** The module every policy imports its vocabulary from. */
export const CORE_MODULE = '@syrup/core';

/** A same-module function that policy code may call (and the compiler inlines). */
export interface ModuleFunction {
  readonly name: string;
  /** Where errors about the function as a whole point. */
  readonly nameNode: ts.Node;
  readonly node: ts.FunctionDeclaration | ts.FunctionExpression | ts.ArrowFunction | ts.MethodDeclaration;
}

/** What a top-level name of the policy module is. */
export type ModuleBinding =
  | { readonly kind: 'core'; readonly name: string }
  | { readonly kind: 'core-namespace' }
  | { readonly kind: 'import'; readonly module: string; readonly imported: string }
  | { readonly kind: 'function'; readonly fn: ModuleFunction }
  | { readonly kind: 'constant'; readonly name: string; readonly initializer: ts.Expression }
  | { readonly kind: 'policy' };

/** The policy module's top level, read syntactically. */
export interface PolicyModule {
  readonly bindings: ReadonlyMap<string, ModuleBinding>;
  readonly call: ts.CallExpression;
  readonly options: ts.ObjectLiteralExpression;
}

/**
 * Reads the top level of a policy module: imports, same-module functions, integer constants,
 * types, and exactly one exported `definePolicy({...})` call. Anything else at the top level
 * would be code that runs when the module loads, which a policy never does, so it is refused.
 */
export function scanPolicyModule(ctx: SourceContext): PolicyModule {
  const sf = ctx.sourceFile;
  const bindings = new Map<string, ModuleBinding>();
  const bind = (name: ts.Identifier, binding: ModuleBinding): void => {
    if (bindings.has(name.text)) ctx.fail(name, `'${name.text}' is declared twice at the top level`);
    bindings.set(name.text, binding);
  };

  // Imports first: a call can only be recognised as definePolicy once its import is known.
  for (const statement of sf.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const clause = statement.importClause;
    if (!clause || clause.isTypeOnly) continue;
    const module = ts.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : '';
    const isCore = module === CORE_MODULE;
    if (clause.name) bind(clause.name, { kind: 'import', module, imported: 'default' });
    const named = clause.namedBindings;
    if (named && ts.isNamespaceImport(named)) {
      bind(named.name, isCore ? { kind: 'core-namespace' } : { kind: 'import', module, imported: '*' });
    } else if (named) {
      for (const element of named.elements) {
        if (element.isTypeOnly) continue;
        const imported = (element.propertyName ?? element.name).text;
        bind(element.name, isCore ? { kind: 'core', name: imported } : { kind: 'import', module, imported });
      }
    }
  }

  let found: { call: ts.CallExpression; options: ts.ObjectLiteralExpression } | undefined;
  let exported = false;
  let policyName: string | undefined;
  const takePolicy = (call: ts.CallExpression): void => {
    if (found) ctx.fail(call, 'a policy module defines exactly one policy, and this is a second definePolicy call');
    const argument = call.arguments.length === 1 ? unwrapExpression(call.arguments[0] as ts.Expression) : undefined;
    if (!argument || !ts.isObjectLiteralExpression(argument)) {
      ctx.fail(call, 'definePolicy takes exactly one argument, an object literal');
    }
    found = { call, options: argument };
  };
  const isDefinePolicyCall = (expression: ts.Expression): expression is ts.CallExpression => {
    const e = unwrapExpression(expression);
    if (!ts.isCallExpression(e)) return false;
    const callee = unwrapExpression(e.expression);
    if (ts.isIdentifier(callee)) {
      const b = bindings.get(callee.text);
      return b?.kind === 'core' && b.name === 'definePolicy';
    }
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.name.text === 'definePolicy') {
      return bindings.get(callee.expression.text)?.kind === 'core-namespace';
    }
    return false;
  };
  const hasModifier = (node: ts.Node, kind: ts.SyntaxKind): boolean =>
    (ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined)?.some((m) => m.kind === kind) ?? false;

  for (const statement of sf.statements) {
    if (ts.isImportDeclaration(statement)) continue;
    if (
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEmptyStatement(statement) ||
      ts.isImportEqualsDeclaration(statement) ||
      (ts.isModuleDeclaration(statement) && hasModifier(statement, ts.SyntaxKind.DeclareKeyword))
    ) {
      continue;
    }
    if (ts.isFunctionDeclaration(statement)) {
      // Overload signatures and `declare function` have no body: nothing to inline.
      if (!statement.name || !statement.body) continue;
      bind(statement.name, { kind: 'function', fn: { name: statement.name.text, nameNode: statement.name, node: statement } });
      continue;
    }
    if (ts.isVariableStatement(statement)) {
      if (hasModifier(statement, ts.SyntaxKind.DeclareKeyword)) continue;
      const isExported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
      if ((statement.declarationList.flags & ts.NodeFlags.BlockScoped) !== ts.NodeFlags.Const) {
        ctx.fail(statement, 'top-level variables must be const: a policy keeps no module state outside its maps');
      }
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) ctx.fail(declaration.name, 'destructuring is not allowed at the top level');
        const initializer = declaration.initializer;
        if (!initializer) ctx.fail(declaration, `const '${declaration.name.text}' needs a value`);
        const value = unwrapExpression(initializer);
        if (isDefinePolicyCall(value)) {
          takePolicy(value);
          policyName = declaration.name.text;
          exported ||= isExported;
          bind(declaration.name, { kind: 'policy' });
        } else if (ts.isArrowFunction(value) || ts.isFunctionExpression(value)) {
          bind(declaration.name, { kind: 'function', fn: { name: declaration.name.text, nameNode: declaration.name, node: value } });
        } else {
          bind(declaration.name, { kind: 'constant', name: declaration.name.text, initializer });
        }
      }
      continue;
    }
    if (ts.isExportAssignment(statement)) {
      if (statement.isExportEquals) ctx.fail(statement, '`export =` is not allowed; use `export default definePolicy({...})`');
      const value = unwrapExpression(statement.expression);
      if (isDefinePolicyCall(value)) {
        takePolicy(value);
        exported = true;
      } else if (ts.isIdentifier(value) && policyName === value.text) {
        exported = true;
      } else {
        ctx.fail(statement.expression, 'the default export of a policy module must be its definePolicy({...}) call');
      }
      continue;
    }
    if (ts.isExportDeclaration(statement)) {
      if (statement.moduleSpecifier) ctx.fail(statement, 'a policy module cannot re-export other modules');
      const clause = statement.exportClause;
      if (clause && ts.isNamedExports(clause)) {
        for (const element of clause.elements) {
          if ((element.propertyName ?? element.name).getText(sf) === policyName) exported = true;
        }
      }
      continue;
    }
    if (ts.isExpressionStatement(statement) && isDefinePolicyCall(statement.expression)) {
      ctx.fail(statement, 'the policy must be exported: write `export default definePolicy({...})`');
    }
    ctx.fail(statement, 'only imports, types, functions, integer constants and the exported policy may be at the top level of a policy module');
  }

  if (!found) ctx.fail(ctx.posAt(0), `no definePolicy({...}) call found; import definePolicy from '${CORE_MODULE}' and export its result`);
  if (!exported) ctx.fail(found.call, 'the policy must be exported: write `export default definePolicy({...})`');
  return { bindings, call: found.call, options: found.options };
}

/** A manifest value written with literals. */
type StaticValue = string | number | bigint | { readonly [key: string]: StaticValue };

/** The parts of the definePolicy argument. */
export interface PolicyOptions {
  readonly manifest: PolicyManifest;
  readonly schedule: ModuleFunction;
}

const OPTION_NAMES = new Set(['name', 'input', 'maps', 'params', 'schedule']);

/**
 * Reads the definePolicy argument: the manifest from literals (validated with
 * {@link parsePolicyManifest}, each error placed at the part it is about) and the schedule
 * function. `overrides` replaces declared params (a deploy-time choice); overriding a param
 * the policy does not declare is an error.
 */
export function readPolicyOptions(
  ctx: SourceContext,
  module: PolicyModule,
  resolveConstant: (name: string, at: ts.Node) => bigint | undefined,
  overrides: Readonly<Record<string, number | bigint>> = {},
): PolicyOptions {
  const properties = new Map<string, { node: ts.Node; value?: ts.Expression }>();
  let schedule: ModuleFunction | undefined;
  for (const property of module.options.properties) {
    if (ts.isSpreadAssignment(property)) ctx.fail(property, 'spread is not allowed in definePolicy options');
    const name = property.name && propertyNameText(property.name);
    if (name === undefined) ctx.fail(property, 'definePolicy options must have plain names');
    if (!OPTION_NAMES.has(name)) ctx.fail(property, `definePolicy has no option '${name}'`);
    if (properties.has(name)) ctx.fail(property, `definePolicy option '${name}' is given twice`);
    if (ts.isPropertyAssignment(property)) {
      properties.set(name, { node: property, value: property.initializer });
    } else if (ts.isMethodDeclaration(property) && name === 'schedule') {
      properties.set(name, { node: property });
      schedule = { name: 'schedule', nameNode: property.name, node: property };
    } else if (ts.isShorthandPropertyAssignment(property) && name === 'schedule') {
      properties.set(name, { node: property, value: property.name });
    } else {
      ctx.fail(property, `definePolicy option '${name}' must be written as \`${name}: value\``);
    }
  }
  const scheduleProperty = properties.get('schedule');
  if (!scheduleProperty) ctx.fail(module.call, 'definePolicy needs a schedule function');
  if (!schedule) {
    const value = unwrapExpression(scheduleProperty.value as ts.Expression);
    if (ts.isFunctionExpression(value) || ts.isArrowFunction(value)) {
      const nameNode = (scheduleProperty.node as ts.PropertyAssignment).name;
      schedule = { name: 'schedule', nameNode, node: value };
    } else if (ts.isIdentifier(value)) {
      const binding = module.bindings.get(value.text);
      if (binding?.kind !== 'function') ctx.fail(value, `schedule must be a function; '${value.text}' is not a function of this module`);
      schedule = binding.fn;
    } else {
      ctx.fail(value, 'schedule must be a function');
    }
  }

  const read = (node: ts.Expression, what: string): StaticValue => {
    const e = unwrapExpression(node);
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
    if (ts.isNumericLiteral(e) || ts.isBigIntLiteral(e)) return literalValue(ctx, e);
    if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken) {
      const operand = unwrapExpression(e.operand);
      if (ts.isNumericLiteral(operand) || ts.isBigIntLiteral(operand)) {
        const value = literalValue(ctx, operand);
        return typeof value === 'bigint' ? -value : -value;
      }
    }
    if (ts.isIdentifier(e)) {
      const value = resolveConstant(e.text, e);
      if (value !== undefined) return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
    if (ts.isObjectLiteralExpression(e)) {
      const record: Record<string, StaticValue> = {};
      for (const property of e.properties) {
        const key = property.name && propertyNameText(property.name);
        if (!ts.isPropertyAssignment(property) || key === undefined) {
          ctx.fail(property, `definePolicy option '${what}' must be written with plain \`name: value\` properties`);
        }
        if (Object.hasOwn(record, key)) ctx.fail(property, `'${key}' is given twice in definePolicy option '${what}'`);
        if (key === '__proto__') ctx.fail(property, `'__proto__' cannot be a name in definePolicy option '${what}'`);
        record[key] = read(property.initializer, what);
      }
      return record;
    }
    return ctx.fail(e, `definePolicy option '${what}' must be written with literals (strings, integers and objects)`);
  };

  const value = (name: string): StaticValue | undefined => {
    const property = properties.get(name);
    return property?.value ? read(property.value, name) : undefined;
  };
  const at = (name: string): ts.Node => properties.get(name)?.node ?? module.call;
  const name = value('name');
  const input = value('input');
  const maps = value('maps') ?? {};
  const declaredParams = value('params') ?? {};
  const validate = <T>(node: ts.Node, check: () => T): T => {
    try {
      return check();
    } catch (error) {
      if (error instanceof PolicyDefinitionError) ctx.fail(node, error.message, error);
      throw error;
    }
  };
  validate(at('name'), () => parsePolicyManifest({ name, input: 'udp' }));
  validate(at('input'), () => parsePolicyManifest({ name, input }));
  // Each map and param is checked on its own first, so an error points at the entry to blame.
  const entries = (option: string): readonly ts.ObjectLiteralElementLike[] => {
    const node = properties.get(option)?.value;
    const e = node && unwrapExpression(node);
    return e && ts.isObjectLiteralExpression(e) ? e.properties : [];
  };
  for (const entry of entries('maps')) {
    const key = propertyNameText(entry.name as ts.PropertyName) as string;
    validate(entry, () => parsePolicyManifest({ name, input, maps: { [key]: (maps as Record<string, StaticValue>)[key] } }));
  }
  validate(at('maps'), () => parsePolicyManifest({ name, input, maps }));
  for (const entry of entries('params')) {
    const key = propertyNameText(entry.name as ts.PropertyName) as string;
    validate(entry, () => parsePolicyManifest({ name, input, params: { [key]: (declaredParams as Record<string, StaticValue>)[key] } }));
  }
  validate(at('params'), () => parsePolicyManifest({ name, input, params: declaredParams }));
  const params: Record<string, number | bigint> = { ...(declaredParams as Record<string, number | bigint>) };
  for (const [param, override] of Object.entries(overrides)) {
    if (!Object.hasOwn(params, param)) ctx.fail(at('params'), `policy '${String(name)}' declares no param '${param}' to override`);
    params[param] = override;
  }
  const manifest = validate(at('params'), () => parsePolicyManifest({ name, input, maps, params }));
  return { manifest, schedule };
}

/** An integer literal as a manifest value: a number when exact, else a bigint; floats stay floats for the message. */
function literalValue(ctx: SourceContext, node: ts.NumericLiteral | ts.BigIntLiteral): number | bigint {
  const text = ctx.text(node);
  const literal = parseIntegerLiteral(text);
  if (literal.value === undefined) {
    if (literal.float !== undefined) return literal.float;
    return ctx.fail(node, literal.reason);
  }
  if (ts.isBigIntLiteral(node) || literal.value > BigInt(Number.MAX_SAFE_INTEGER)) return literal.value;
  return Number(literal.value);
}
