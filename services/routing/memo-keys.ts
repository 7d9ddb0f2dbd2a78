// Small integer ids for memo keys, and per-treaty memos indexed by them. route() turns each
// decision's workload shape and scoring context into a string once, interns it here, and
// every treaty then finds its memoized verdict or scored candidate with one array index
// instead of a string-keyed Map lookup per treaty.

/**
 * Interns memo keys as small integer ids (0, 1, 2, …). When `max` keys are known, it forgets
 * them all and starts a new epoch, so ids stay below `max` and memos indexed by them stay
 * bounded; a KeyedMemo from an older epoch reads as empty.
 */
export class KeyIds {
  readonly #ids = new Map<string, number>();
  readonly #max: number;
  #epoch = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** The id of `key` in the current epoch (a new one for a key not seen since it began). */
  id(key: string): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      if (this.#ids.size >= this.#max) {
        this.#ids.clear();
        this.#epoch++;
      }
      id = this.#ids.size;
      this.#ids.set(key, id);
    }
    return id;
  }

  /** Counts the times the ids were forgotten; a memo remembers the epoch it was filled in. */
  get epoch(): number {
    return this.#epoch;
  }
}

/** Values remembered by a KeyIds id; empty again once the KeyIds moves to a new epoch. */
export class KeyedMemo<T> {
  readonly #keys: KeyIds;
  #epoch = -1;
  #values: (T | undefined)[] = [];

  constructor(keys: KeyIds) {
    this.#keys = keys;
  }

  /** The value remembered for `id`, or undefined. */
  get(id: number): T | undefined {
    return this.#epoch === this.#keys.epoch ? this.#values[id] : undefined;
  }

  /** Remembers `value` for `id`. */
  set(id: number, value: T): void {
    if (this.#epoch !== this.#keys.epoch) {
      this.#values = [];
      this.#epoch = this.#keys.epoch;
    }
    this.#values[id] = value;
  }
}
