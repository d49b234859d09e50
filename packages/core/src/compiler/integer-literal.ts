const U64_MAX = (1n << 64n) - 1n;

/** What reading a numeric literal's source text gives: a u64, or why it is not one. */
export type IntegerLiteral = { readonly value: bigint; readonly float?: undefined } | { readonly value?: undefined; readonly reason: string; readonly float?: number };

/**
 * Reads a numeric literal exactly from its source text (`0x1f`, `0b101`, `0o17`, `1_000`,
 * `123n`), never through a JavaScript number, so values beyond 2^53 keep every bit.
 * A literal with a fraction or an exponent is a float; `float` then carries its number value
 * so manifest validation can say what the author wrote.
 */
export function parseIntegerLiteral(text: string): IntegerLiteral {
  const bigintSuffix = text.endsWith('n');
  const digits = (bigintSuffix ? text.slice(0, -1) : text).replace(/_/g, '');
  let value: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(digits) || /^0[bB][01]+$/.test(digits) || /^0[oO][0-7]+$/.test(digits)) {
    value = BigInt(digits);
  } else if (/^(0|[1-9][0-9]*)$/.test(digits)) {
    value = BigInt(digits);
  } else if (/^0[0-9]+$/.test(digits)) {
    return { reason: `integer literal ${text} has a leading zero; write octal as 0o${digits.slice(1)}` };
  } else {
    return { reason: `${text} is not an integer; policy values are unsigned 64-bit integers`, float: Number(digits) };
  }
  if (value > U64_MAX) return { reason: `integer literal ${text} does not fit in 64 bits` };
  return { value };
}
