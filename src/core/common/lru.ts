// A small least-recently-used map, and a table of in-flight requests that callers share: the editor
// surfaces ask the same question often (hover after hover over one block), and must not ask it twice.
import { CancelledError } from './errors';

export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    // A Map iterates in insertion order: the first key is the least recently used.
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** A snapshot of the entries from the most to the least recently used; reading it touches nothing. */
  newestFirst(): [K, V][] {
    return [...this.map].reverse();
  }

  /** Drops every entry whose key matches. */
  deleteWhere(match: (key: K) => boolean): void {
    for (const k of [...this.map.keys()]) if (match(k)) this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
  }
}

/**
 * Requests shared by key while in flight: a second caller for the same key waits on the first request.
 * Each caller may give up (its signal aborts) without disturbing the others; the request itself is aborted
 * only when every caller has given up.
 */
export class SharedRequests<K, V> {
  private readonly inflight = new Map<K, { promise: Promise<V>; controller: AbortController; waiters: number }>();

  get size(): number {
    return this.inflight.size;
  }

  run(key: K, start: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    let entry = this.inflight.get(key);
    if (!entry) {
      const controller = new AbortController();
      const promise = start(controller.signal);
      const e = { promise, controller, waiters: 0 };
      entry = e;
      this.inflight.set(key, e);
      const done = () => {
        if (this.inflight.get(key) === e) this.inflight.delete(key);
      };
      promise.then(done, done);
    }
    const e = entry;
    e.waiters++;
    return new Promise<V>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(new CancelledError());
        if (--e.waiters === 0) {
          // Nobody wants the answer any more: stop the work, and let a later caller start afresh.
          if (this.inflight.get(key) === e) this.inflight.delete(key);
          e.controller.abort();
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      e.promise.then(
        (v) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          e.waiters--;
          resolve(v);
        },
        (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          e.waiters--;
          reject(err);
        },
      );
    });
  }
}
