import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from './cli-io.js';

/** The words shown for each stage of a long operation, in the order they can happen. */
const STAGE_TEXT: Readonly<Record<string, string>> = {
  read: 'reading the policy',
  send: 'sending it to syrupd',
  compile: 'compiling',
  attach: 'attaching',
  swap: 'swapping the new policy in',
  start: 'starting syrupd',
  listen: 'waiting for syrupd to listen',
  wait: 'waiting for syrupd to answer',
};

/**
 * A one-line progress bar on stderr for a long operation, advanced by its stages as they
 * happen (reported by the client and, through the protocol, by syrupd). It exists only when
 * stderr is a terminal and the output is not JSON: `forCommand` answers undefined otherwise,
 * so callers write `progress?.stage(...)`. The bar is erased when the operation ends, leaving
 * stdout's result alone on the screen.
 */
export class StageProgress {
  readonly #bar: SingleBar;
  readonly #stages: readonly string[];
  #started = false;
  #stopped = false;

  private constructor(stream: NodeJS.WritableStream, stages: readonly string[]) {
    this.#stages = stages;
    this.#bar = new SingleBar(
      { stream, format: 'syrup {bar} {stage}', barsize: 20, clearOnComplete: true, hideCursor: false, fps: 10, noTTYOutput: false },
      Presets.shades_classic,
    );
  }

  static forCommand(io: CliIo, options: { json?: boolean | undefined }, stages: readonly string[]): StageProgress | undefined {
    if (options.json === true || io.progress === undefined || io.progress.isTTY !== true) return undefined;
    return new StageProgress(io.progress, stages);
  }

  /** Shows `name` as the current stage; the bar fills up to it. */
  stage(name: string): void {
    if (this.#stopped) return;
    const index = this.#stages.indexOf(name);
    const payload = { stage: `${STAGE_TEXT[name] ?? name}…` };
    const value = index === -1 ? 0 : index;
    if (!this.#started) {
      this.#started = true;
      this.#bar.start(this.#stages.length, value, payload);
    } else {
      this.#bar.update(value, payload);
    }
    // The bar throttles its redraws; a stage is drawn the moment it starts, even a short one.
    this.#bar.render();
  }

  /** Ends the display (success or failure alike): the line is cleared. Later calls do nothing. */
  stop(): void {
    if (!this.#started || this.#stopped) return;
    this.#stopped = true;
    this.#bar.update(this.#stages.length);
    this.#bar.stop();
  }
}
