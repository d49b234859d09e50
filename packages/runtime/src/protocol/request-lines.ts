/** One request line taken from a connection: its text, or the mark of a line over the size limit. */
export type RequestLine = { readonly text: string } | { readonly tooLarge: true };

/**
 * Splits what a connection sends into request lines, one line per `next()` call, so the
 * server takes a line only when it is ready to answer it and leaves the rest of a chunk
 * unscanned meanwhile (see the protocol server's backpressure).
 *
 * Invariant: what it holds is the unscanned rest of the chunks pushed plus the start of at most
 * one line, and that start never exceeds `maxBytes`: a line that grows past the limit is
 * reported as too large at once and the rest of it is dropped as it arrives, up to its newline.
 */
export class RequestLines {
  readonly #maxBytes: number;
  /** Received and not looked at yet. */
  #unscanned: Buffer | undefined;
  /** The start of a line whose newline has not come. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** Dropping the rest of a line already reported as too large. */
  #skipping = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes held: unscanned ones and the start of an unfinished line. */
  get heldBytes(): number {
    return (this.#unscanned?.length ?? 0) + this.#partialBytes;
  }

  /** True when every byte pushed has been looked at (only an unfinished line may be held). */
  get scanned(): boolean {
    return this.#unscanned === undefined;
  }

  push(chunk: Buffer): void {
    this.#unscanned = this.#unscanned === undefined ? chunk : Buffer.concat([this.#unscanned, chunk]);
  }

  /** The next line, or undefined when what was pushed holds no further complete line (nor a new overrun). */
  next(): RequestLine | undefined {
    while (this.#unscanned !== undefined) {
      const chunk = this.#unscanned;
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this.#unscanned = undefined;
        if (this.#skipping) return undefined;
        if (this.#partialBytes + chunk.length > this.#maxBytes) {
          // Report now and drop the rest of this line as it arrives, rather than buffer it.
          this.#resetPartial();
          this.#skipping = true;
          return { tooLarge: true };
        }
        // A copy: the chunk may be a slice of a larger buffer that would otherwise stay alive.
        this.#partial.push(Buffer.from(chunk));
        this.#partialBytes += chunk.length;
        return undefined;
      }
      const piece = chunk.subarray(0, nl);
      this.#unscanned = nl + 1 < chunk.length ? chunk.subarray(nl + 1) : undefined;
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      const tooLarge = this.#partialBytes + piece.length > this.#maxBytes;
      const text = tooLarge ? '' : Buffer.concat([...this.#partial, piece]).toString('utf8');
      this.#resetPartial();
      return tooLarge ? { tooLarge: true } : { text };
    }
    return undefined;
  }

  #resetPartial(): void {
    this.#partial = [];
    this.#partialBytes = 0;
  }
}
