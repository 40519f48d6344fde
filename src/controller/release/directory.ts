/**
 * The Releases this process knows of. With --release-selector the Release cache holds only this
 * shard's Releases, but an object on a data plane may belong to another shard's: that Release
 * must still protect it (no takeover, no observation), so a Release missing from the cache is not
 * taken for gone. The answer is read from the API server, once per owner (a uid found gone never
 * comes back; one found alive is trusted for a while), and only when an apply meets such an
 * object. The policy asks synchronously, so while the read is under way the owner counts as alive
 * (the safe side: the object is refused, not taken), and the pass that asked is run again once
 * the read has told otherwise. Without a selector the cache holds every Release and is the answer.
 */
import type { Release } from '../../api/v1alpha1/schema.ts';
import type { Informer } from '../../kube/informer.ts';

/** ReadReleaseUid returns the uid of a Release on the API server, or undefined when it does not exist. */
export type ReadReleaseUid = (namespace: string, name: string) => Promise<string | undefined>;

/** LIVE_TRUST_MS is how long a Release read alive is believed without reading it again. */
export const LIVE_TRUST_MS = 60_000;

/** MAX_REMEMBERED is the most owners remembered each way, so the memory stays bounded. */
export const MAX_REMEMBERED = 10_000;

/** ReleaseDirectory answers whether a Release exists: from the cache, else (partial cache) from the API server. */
export class ReleaseDirectory {
  private readonly gone = new Set<string>();
  private readonly alive = new Map<string, number>();
  private readonly reading = new Map<string, Promise<boolean>>();

  /**
   * `read` is given only when the cache is partial (--release-selector); `onError` is told of a
   * read that failed (the owner then still counts as alive).
   */
  constructor(
    private readonly cache: Pick<Informer<Release>, 'get'>,
    private readonly read?: ReadReleaseUid,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** partial tells whether Releases outside the cache may exist (a --release-selector is set). */
  get partial(): boolean {
    return this.read !== undefined;
  }

  /** pass starts the view of one apply pass over this directory alone. */
  pass(): OwnerPass {
    return new OwnerPass([this]);
  }

  /** known answers from the cache and what was read; undefined when the API server must be asked. */
  known(namespace: string, name: string, uid: string): boolean | undefined {
    const cached = this.cache.get(namespace, name);
    if (cached) return cached.metadata.uid === uid;
    if (!this.read) return false;
    const key = `${namespace}/${name}/${uid}`;
    if (this.gone.has(key)) return false;
    const until = this.alive.get(key);
    if (until !== undefined && until > this.now()) return true;
    return undefined;
  }

  /** lookUp reads one owner from the API server (one read per owner at a time); resolves to whether it exists. */
  lookUp(namespace: string, name: string, uid: string): Promise<boolean> {
    const key = `${namespace}/${name}/${uid}`;
    const running = this.reading.get(key);
    if (running) return running;
    const read = this.read ?? (() => Promise.resolve(undefined));
    const done = read(namespace, name)
      .then(
        (found) => {
          if (found === uid) remember(this.alive, key, this.now() + LIVE_TRUST_MS);
          else remember(this.gone, key);
          return found === uid;
        },
        (err: unknown) => {
          this.onError(err);
          return true;
        },
      )
      .finally(() => this.reading.delete(key));
    this.reading.set(key, done);
    return done;
  }
}

/**
 * OwnerPass is one apply pass's view over the directories of every served kind (Release,
 * RenderedRelease; labels name a Release, the uid tells of which kind): `exists` for the policy,
 * `settle` after the pass.
 */
export class OwnerPass {
  private readonly asked = new Map<string, Promise<boolean>[]>();

  constructor(private readonly directories: readonly ReleaseDirectory[]) {}

  /** exists tells whether the Release lives; an owner not known yet counts as alive while it is read. */
  readonly exists = (namespace: string, name: string, uid: string): boolean => {
    const answers = this.directories.map((d) => d.known(namespace, name, uid));
    if (answers.includes(true)) return true;
    const unknown = this.directories.filter((_, i) => answers[i] === undefined);
    if (unknown.length === 0) return false;
    const key = `${namespace}/${name}/${uid}`;
    if (!this.asked.has(key))
      this.asked.set(
        key,
        unknown.map((d) => d.lookUp(namespace, name, uid)),
      );
    return true;
  };

  /**
   * settle waits for the reads this pass started and tells whether one found an owner gone in every
   * kind (run the pass again).
   */
  async settle(): Promise<boolean> {
    const owners = await Promise.all([...this.asked.values()].map((reads) => Promise.all(reads)));
    return owners.some((alive) => !alive.includes(true));
  }
}

function remember<T>(memory: Set<string> | Map<string, T>, key: string, value?: T): void {
  if (memory.size >= MAX_REMEMBERED) {
    const oldest = memory.keys().next().value;
    if (oldest !== undefined) memory.delete(oldest);
  }
  if (memory instanceof Set) memory.add(key);
  else memory.set(key, value as T);
}
