import ts from './lazy-typescript.js';

/**
 * Where the front end's recursion meets a policy nested past what the stack holds. The limits
 * (POLICY_LIMITS.maxNestingDepth, checked on brackets before parsing and on the lowerer's own
 * recursion) catch almost every such policy with a sentence; these helpers place the rest,
 * a RangeError from the TypeScript parser or a walk, at the construct that caused it rather
 * than at 1:1.
 */

/** True for V8's "Maximum call stack size exceeded", the only RangeError the front end turns into POLICY_TOO_DEEP. */
export function isStackOverflow(error: unknown): error is RangeError {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * The offset of the character whose inclusion makes the parser overflow: a binary search over
 * prefixes of the text (the parser recurses while it reads, so a prefix that holds the deep
 * construct overflows too). Costs about log2(length) parses, for a source already refused;
 * some sources parse slowly short of overflowing (a<a<a... makes the parser speculate), so
 * after `budgetMs` the search stops at the shortest prefix found to overflow, which still
 * ends inside the deep construct.
 */
export function whereParserOverflows(fileName: string, text: string, parse: (fileName: string, text: string) => unknown, budgetMs = 250): number {
  const deadline = performance.now() + budgetMs;
  let fits = 0;
  let overflows = text.length;
  while (overflows - fits > 1 && performance.now() < deadline) {
    const middle = Math.floor((fits + overflows) / 2);
    try {
      parse(fileName, text.slice(0, middle));
      fits = middle;
    } catch (error) {
      if (!isStackOverflow(error)) throw error;
      overflows = middle;
    }
  }
  return overflows - 1;
}

/** The node with the most ancestors, found with an explicit stack (a recursive walk would overflow where the compiler did). */
export function deepestNode(root: ts.Node): ts.Node {
  let deepest = root;
  let deepestDepth = 0;
  const pending: [ts.Node, number][] = [[root, 0]];
  for (let entry = pending.pop(); entry !== undefined; entry = pending.pop()) {
    const [node, depth] = entry;
    if (depth > deepestDepth) {
      deepest = node;
      deepestDepth = depth;
    }
    const children: ts.Node[] = [];
    ts.forEachChild(node, (child) => {
      children.push(child);
    });
    // Reversed, so nodes come off the stack in source order and a tie goes to the first one.
    for (let i = children.length - 1; i >= 0; i--) pending.push([children[i]!, depth + 1]);
  }
  return deepest;
}
