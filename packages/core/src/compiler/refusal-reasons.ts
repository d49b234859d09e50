import ts from './lazy-typescript.js';

/** Why an expression the policy language does not have is refused, in one phrase. */
export function expressionReason(e: ts.Expression): string {
  if (ts.isStringLiteral(e)) return 'strings are not allowed in policy code';
  if (ts.isTemplateExpression(e) || ts.isNoSubstitutionTemplateLiteral(e) || ts.isTaggedTemplateExpression(e)) return 'template literals are not allowed in policy code';
  if (ts.isObjectLiteralExpression(e)) return 'objects are not allowed in policy code';
  if (ts.isArrayLiteralExpression(e)) return 'arrays are not allowed in policy code';
  if (ts.isArrowFunction(e) || ts.isFunctionExpression(e)) return 'closures are not allowed in policy code; declare a function at the top level of the module';
  if (ts.isClassExpression(e)) return 'classes are not allowed in policy code';
  if (ts.isNewExpression(e)) return '`new` is not allowed in policy code';
  if (ts.isAwaitExpression(e)) return '`await` is not allowed in policy code';
  if (ts.isYieldExpression(e)) return '`yield` is not allowed in policy code';
  if (ts.isDeleteExpression(e)) return '`delete` is not allowed in policy code; remove map entries with map.delete(key)';
  if (ts.isTypeOfExpression(e)) return '`typeof` is not allowed in policy code';
  if (ts.isVoidExpression(e)) return '`void` is not allowed in policy code';
  if (ts.isRegularExpressionLiteral(e)) return 'regular expressions are not allowed in policy code';
  if (ts.isSpreadElement(e)) return 'spread is not allowed in policy code';
  switch (e.kind) {
    case ts.SyntaxKind.ThisKeyword:
      return '`this` is not allowed in policy code';
    case ts.SyntaxKind.SuperKeyword:
      return '`super` is not allowed in policy code';
    case ts.SyntaxKind.NullKeyword:
      return '`null` is not allowed in policy code';
    default:
      return 'this expression is not allowed in policy code';
  }
}

/** Why a statement the policy language does not have is refused, in one phrase. */
export function statementReason(node: ts.Statement): string {
  if (ts.isWhileStatement(node) || ts.isDoStatement(node)) {
    return `\`${ts.isDoStatement(node) ? 'do...while' : 'while'}\` loops are not allowed in policy code; loops must be for loops with constant bounds`;
  }
  if (ts.isForOfStatement(node) || ts.isForInStatement(node)) {
    return `\`for...${ts.isForOfStatement(node) ? 'of' : 'in'}\` loops are not allowed in policy code; loops must be for loops with constant bounds`;
  }
  if (ts.isLabeledStatement(node)) return 'labels are not allowed in policy code';
  if (ts.isTryStatement(node)) return '`try` is not allowed in policy code';
  if (ts.isThrowStatement(node)) return '`throw` is not allowed in policy code';
  if (ts.isFunctionDeclaration(node)) return 'nested functions are not allowed in policy code; declare functions at the top level of the module';
  if (ts.isClassDeclaration(node)) return 'classes are not allowed in policy code';
  if (ts.isWithStatement(node)) return '`with` is not allowed in policy code';
  if (ts.isEnumDeclaration(node)) return 'enums are not allowed in policy code';
  if (ts.isDebuggerStatement(node)) return '`debugger` is not allowed in policy code';
  return 'this statement is not allowed in policy code';
}
