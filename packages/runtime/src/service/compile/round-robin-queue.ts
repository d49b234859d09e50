/**
 * FIFO queues, one per uid, served round robin: `shift` takes the oldest item of the waiting
 * uid served longest ago (a uid never served first, then in the order uids started waiting).
 * A uid that queues many items therefore waits its turn like one that queues one, however
 * early it queued them, and a uid that starts waiting while another's item is being served
 * goes before that uid's next one: one tenant's burst cannot push another tenant's work back
 * (issue #15). Invariant: `#queues` holds exactly the uids with items waiting.
 */
export class RoundRobinQueue<T> {
  /** Waiting items by uid, in the order the uids started waiting (which breaks ties). */
  readonly #queues = new Map<number, T[]>();
  /**
   * When each uid was last served, as a count of items served: one number per uid that ever
   * queued (few: they are the machine's users), kept after its queue empties, so that a uid
   * whose queue fills again does not jump the turn.
   */
  readonly #served = new Map<number, number>();
  #serves = 0;

  /** Items `uid` has waiting. */
  sizeOf(uid: number): number {
    return this.#queues.get(uid)?.length ?? 0;
  }

  /** Queues `item` behind `uid`'s others. */
  push(uid: number, item: T): void {
    const items = this.#queues.get(uid);
    if (items === undefined) this.#queues.set(uid, [item]);
    else items.push(item);
  }

  /**
   * The oldest item of the uid whose turn it is, or undefined when nothing waits. With
   * `eligible`, only uids it accepts take a turn (a uid already running its one job at a time
   * is skipped and keeps its place).
   */
  shift(eligible?: (uid: number) => boolean): T | undefined {
    let next: number | undefined;
    let nextServed = Infinity;
    for (const uid of this.#queues.keys()) {
      if (eligible !== undefined && !eligible(uid)) continue;
      const served = this.#served.get(uid) ?? 0;
      if (served < nextServed) {
        next = uid;
        nextServed = served;
      }
    }
    if (next === undefined) return undefined;
    const items = this.#queues.get(next) as T[];
    const item = items.shift();
    if (items.length === 0) this.#queues.delete(next);
    this.#served.set(next, ++this.#serves);
    return item;
  }

  /** Takes `item` out of `uid`'s queue; false when it is not waiting there (already served or removed). */
  remove(uid: number, item: T): boolean {
    const items = this.#queues.get(uid);
    const index = items?.indexOf(item) ?? -1;
    if (items === undefined || index === -1) return false;
    items.splice(index, 1);
    if (items.length === 0) this.#queues.delete(uid);
    return true;
  }

  /** Empties every queue and returns what was waiting, in no particular order. */
  drain(): T[] {
    const all = [...this.#queues.values()].flat();
    this.#queues.clear();
    this.#served.clear();
    return all;
  }
}
