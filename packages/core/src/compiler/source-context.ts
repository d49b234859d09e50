import ts from './lazy-typescript.js';
import type { SourcePosition } from '../ir/policy-ir.js';
import { PolicyCompileError, type PolicyCompileErrorCode } from './policy-compile-error.js';

/** The parsed module plus the two things every compiler step needs from it: positions and errors. */
export class SourceContext {
  constructor(
    readonly fileName: string,
    readonly sourceFile: ts.SourceFile,
  ) {}

  /** 1-based line and column of the node's first token (after leading comments). */
  pos(node: ts.Node): SourcePosition {
    return this.posAt(node.getStart(this.sourceFile));
  }

  posAt(offset: number): SourcePosition {
    const { line, character } = this.sourceFile.getLineAndCharacterOfPosition(offset);
    return { line: line + 1, column: character + 1 };
  }

  /** The node's source text, exactly as written. */
  text(node: ts.Node): string {
    return this.sourceFile.text.slice(node.getStart(this.sourceFile), node.end);
  }

  error(node: ts.Node | SourcePosition, reason: string, cause?: unknown, code?: PolicyCompileErrorCode): PolicyCompileError {
    const { line, column } = 'line' in node ? node : this.pos(node);
    return new PolicyCompileError(this.fileName, line, column, reason, { ...(cause === undefined ? {} : { cause }), ...(code === undefined ? {} : { code }) });
  }

  fail(node: ts.Node | SourcePosition, reason: string, cause?: unknown, code?: PolicyCompileErrorCode): never {
    throw this.error(node, reason, cause, code);
  }
}

/** Drops the wrappers that only matter to the type checker: parentheses, `as`, `satisfies`, `!`, `<T>x`. */
export function unwrapExpression(node: ts.Expression): ts.Expression {
  let current = node;
  for (;;) {
    if (
      ts.isParenthesizedExpression(current) ||
      ts.isAsExpression(current) ||
      ts.isSatisfiesExpression(current) ||
      ts.isNonNullExpression(current) ||
      ts.isTypeAssertionExpression(current)
    ) {
      current = current.expression;
    } else {
      return current;
    }
  }
}

/** A property name written as an identifier or a string literal, otherwise undefined. */
export function propertyNameText(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  return undefined;
}
