/**
 * FIFO queues, one per uid, served round robin: `shift` takes the oldest item of the uid
 * whose turn it is, and that uid goes to the back of the rotation. A uid that queues many
 * items therefore waits its turn like one that queues one, however early it queued them: one
 * tenant's burst cannot push another tenant's work back (issue #15). Invariant: a uid is in
 * the rotation exactly when its queue is not empty.
 */
export class RoundRobinQueue<T> {
  /** Rotation order is the Map's insertion order: the first key is the next uid served. */
  readonly #queues = new Map<number, T[]>();

  /** Items waiting, over every uid. */
  get size(): number {
    let total = 0;
    for (const items of this.#queues.values()) total += items.length;
    return total;
  }

  /** Items `uid` has waiting. */
  sizeOf(uid: number): number {
    return this.#queues.get(uid)?.length ?? 0;
  }

  /** Queues `item` behind `uid`'s others; a uid not in the rotation joins it at the back. */
  push(uid: number, item: T): void {
    const items = this.#queues.get(uid);
    if (items === undefined) this.#queues.set(uid, [item]);
    else items.push(item);
  }

  /** The oldest item of the uid whose turn it is, or undefined when nothing waits. */
  shift(): T | undefined {
    for (const [uid, items] of this.#queues) {
      const item = items.shift();
      // Served: to the back of the rotation, or out of it when it has nothing left.
      this.#queues.delete(uid);
      if (items.length > 0) this.#queues.set(uid, items);
      return item;
    }
    return undefined;
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
    return all;
  }
}
