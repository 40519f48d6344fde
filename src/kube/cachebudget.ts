/**
 * CacheBudget bounds what informer caches hold, in objects and in bytes, for one owner (a data
 * plane) and, through a parent budget, for a group of owners (an organization). A watch is an
 * endless list: a server that keeps sending distinct objects would otherwise grow the shared
 * process until it is killed. Bytes are approximate and cheap: the size of each object as it
 * came over the wire (a watch line's length, a list page's length shared by its items), never a
 * walk of the object.
 */
import { formatBytes } from './client.ts';

/** CacheLimits are the bounds of one budget. */
export interface CacheLimits {
  /** maxObjects caps the cached objects; 0 means unlimited. */
  maxObjects: number;
  /** maxBytes caps the approximate bytes of the cached objects; 0 means unlimited. */
  maxBytes: number;
  /** settings names what raises each bound (a flag), for messages. */
  settings?: Partial<Record<'maxObjects' | 'maxBytes', string>>;
}

/** CacheBudget counts one owner's cached objects and bytes against its limits and its parent's. */
export class CacheBudget {
  private objectCount = 0;
  private byteCount = 0;

  constructor(
    /** owner names what the budget bounds in messages, e.g. `data plane acme/dp`. */
    readonly owner: string,
    private readonly limits: CacheLimits,
    private readonly parent?: CacheBudget,
  ) {}

  /** objects is the number of objects counted now. */
  get objects(): number {
    return this.objectCount;
  }

  /** bytes is the approximate bytes counted now. */
  get bytes(): number {
    return this.byteCount;
  }

  /**
   * charge counts a change of the cache (negative to give back) and returns why a limit is now
   * exceeded (this budget's or a parent's), or undefined. The change is counted either way: the
   * caller ends the caches it charged, giving everything back.
   */
  charge(objects: number, bytes: number): string | undefined {
    this.objectCount += objects;
    this.byteCount += bytes;
    const parent = this.parent?.charge(objects, bytes);
    if (objects <= 0 && bytes <= 0) return undefined;
    const { maxObjects, maxBytes, settings } = this.limits;
    const raise = (setting: string | undefined) => (setting ? ` (${setting} raises it)` : '');
    if (maxObjects > 0 && this.objectCount > maxObjects)
      return `the watch caches of ${this.owner} hold more than ${maxObjects} objects${raise(settings?.maxObjects)}`;
    if (maxBytes > 0 && this.byteCount > maxBytes)
      return `the watch caches of ${this.owner} hold more than ${formatBytes(maxBytes)}${raise(settings?.maxBytes)}`;
    return parent;
  }
}
