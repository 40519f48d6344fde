/**
 * The live side of the web view: watches of the control plane (our own supervised informers, with
 * the user's client), turned into the JSON the pages show. One informer of Releases serves every
 * page (rows of the Releases page, the Release of a Release page); a Release page also watches its
 * namespace's Events of that Release, Environments and DataPlanes while it is open. Changes are
 * gathered for FLUSH_MS and sent as one message, so a burst of updates is one DOM pass on the page.
 */
import type { Logger } from 'pino';
import { isRecord, type KubeObject } from '../../api/object.ts';
import { API_VERSION } from '../../api/v1alpha1/constants.ts';
import type { KubeClient } from '../../kube/client.ts';
import { describeError } from '../../kube/errors.ts';
import { Informer, objectKey } from '../../kube/informer.ts';
import {
  dataPlaneView,
  environmentView,
  eventTimeline,
  releaseDetail,
  releaseRow,
  type PlacementView,
  type ReleaseDetail,
  type ReleaseRow,
  type TimelineEntry,
} from './model.ts';

/** FLUSH_MS gathers changes before they are sent: well under the second a change may take to show. */
export const FLUSH_MS = 50;

/** RowChanges is one message of the Releases page: rows added or changed, keys removed. */
export interface RowChanges {
  upsert: ReleaseRow[];
  remove: string[];
}

/** DetailMessage is the whole Release page; the page updates only what differs. */
export interface DetailMessage {
  namespace: string;
  name: string;
  /** release is undefined while the Release does not exist (or before the first list). */
  release?: ReleaseDetail;
  events: TimelineEntry[];
  environment?: PlacementView;
  dataPlane?: PlacementView;
  /** problems say what the view could not read (a watch failing, no permission). */
  problems: string[];
}

/** Subscriber receives one kind of message. */
type Subscriber<T> = (message: T) => void;

/**
 * slim keeps of a Release what the pages show: the objects of spec.resources and managedFields
 * are the bulk of a Release and are never shown, so 1,000 Releases stay small in memory.
 */
function slim(obj: KubeObject): KubeObject {
  const metadata = isRecord(obj['metadata']) ? { ...obj['metadata'] } : {};
  delete metadata['managedFields'];
  const spec = isRecord(obj['spec']) ? { ...obj['spec'] } : {};
  delete spec['resources'];
  return { ...obj, metadata, spec };
}

/** ReleaseFeed watches the Releases in scope and tells the pages what changed. */
export class ReleaseFeed {
  readonly #informer: Informer;
  readonly #rows = new Map<string, { row: ReleaseRow; json: string }>();
  readonly #dirty = new Set<string>();
  readonly #listSubscribers = new Set<Subscriber<RowChanges>>();
  readonly #releaseSubscribers = new Map<string, Set<() => void>>();
  readonly #problemSubscribers = new Set<Subscriber<string | undefined>>();
  #timer: NodeJS.Timeout | undefined;
  #problem: string | undefined;

  constructor(
    private readonly client: KubeClient,
    /** namespace is the scope; undefined means every namespace. */
    readonly namespace: string | undefined,
    private readonly logger: Logger,
  ) {
    this.#informer = new Informer({
      client,
      path:
        namespace === undefined
          ? `/apis/${API_VERSION}/releases`
          : `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/releases`,
      name: 'ui-releases',
      logger,
      transform: slim,
      onError: (err) => this.#setProblem(`cannot watch Releases: ${describeError(err)}`),
      onHealthChange: (healthy) => {
        if (healthy) this.#setProblem(undefined);
      },
    });
    this.#informer.addHandler((_type, obj) => {
      const metadata = isRecord(obj['metadata']) ? obj['metadata'] : {};
      this.#dirty.add(objectKey(String(metadata['namespace'] ?? ''), String(metadata['name'] ?? '')));
      this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS);
    });
  }

  /** start begins watching. */
  start(): void {
    this.#informer.start();
  }

  /** stop ends the watch. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#informer.stop();
  }

  /** synced resolves once the first list is in (or never, while the list fails: see problems). */
  synced(signal?: AbortSignal): Promise<void> {
    return this.#informer.waitForSync(signal);
  }

  /**
   * rows are every Release in scope now, computed afresh for a page that just connected (changes
   * still being gathered reach the other pages with the next flush, and this one too).
   */
  rows(): ReleaseRow[] {
    return this.#informer.list().map(releaseRow);
  }

  /** problem is what is wrong with the watch of Releases now, if anything. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** release is one Release, slimmed, from the cache. */
  release(namespace: string, name: string): KubeObject | undefined {
    return this.#informer.get(namespace, name);
  }

  /** onRows subscribes to row changes; it returns the unsubscribe function. */
  onRows(fn: Subscriber<RowChanges>): () => void {
    this.#listSubscribers.add(fn);
    return () => this.#listSubscribers.delete(fn);
  }

  /** onProblem subscribes to the watch's problems (undefined when it recovers). */
  onProblem(fn: Subscriber<string | undefined>): () => void {
    this.#problemSubscribers.add(fn);
    return () => this.#problemSubscribers.delete(fn);
  }

  /** onRelease subscribes to changes of one Release. */
  onRelease(namespace: string, name: string, fn: () => void): () => void {
    const key = objectKey(namespace, name);
    let set = this.#releaseSubscribers.get(key);
    if (!set) this.#releaseSubscribers.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#releaseSubscribers.delete(key);
    };
  }

  #setProblem(problem: string | undefined): void {
    if (problem === this.#problem) return;
    this.#problem = problem;
    for (const fn of this.#problemSubscribers) fn(problem);
  }

  /** #refresh recomputes one row; it tells whether the row changed. */
  #refresh(key: string): 'upsert' | 'remove' | undefined {
    this.#dirty.delete(key);
    const slash = key.indexOf('/');
    const obj = this.#informer.get(key.slice(0, slash), key.slice(slash + 1));
    if (!obj) return this.#rows.delete(key) ? 'remove' : undefined;
    const row = releaseRow(obj);
    const json = JSON.stringify(row);
    if (this.#rows.get(key)?.json === json) return undefined;
    this.#rows.set(key, { row, json });
    return 'upsert';
  }

  #flush(): void {
    this.#timer = undefined;
    const changes: RowChanges = { upsert: [], remove: [] };
    const touched = [...this.#dirty];
    for (const key of touched) {
      const change = this.#refresh(key);
      if (change === 'upsert') changes.upsert.push(this.#rows.get(key)!.row);
      if (change === 'remove') changes.remove.push(key);
    }
    if (changes.upsert.length > 0 || changes.remove.length > 0) {
      for (const fn of this.#listSubscribers) fn(changes);
    }
    for (const key of touched) for (const fn of this.#releaseSubscribers.get(key) ?? []) fn();
  }
}

/**
 * ReleaseWatch is one open Release page: the Release from the feed, and watches of its Events and
 * of its namespace's Environments and DataPlanes, for as long as the page is open.
 */
export class ReleaseWatch {
  readonly #informers: Record<'events' | 'environments' | 'dataPlanes', Informer>;
  readonly #problems = new Map<string, string>();
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly feed: ReleaseFeed,
    client: KubeClient,
    readonly namespace: string,
    readonly name: string,
    logger: Logger,
    private readonly send: (message: DetailMessage) => void,
  ) {
    const ns = encodeURIComponent(namespace);
    const watch = (key: string, what: string, path: string, fieldSelector?: string) => {
      const informer = new Informer({
        client,
        path,
        ...(fieldSelector ? { fieldSelector } : {}),
        name: `ui-${key}`,
        logger,
        transform: (obj) => {
          const copy = { ...obj, metadata: isRecord(obj['metadata']) ? { ...obj['metadata'] } : {} };
          delete (copy.metadata as Record<string, unknown>)['managedFields'];
          return copy;
        },
        onError: (err) => {
          this.#problems.set(key, `cannot watch ${what}: ${describeError(err)}`);
          this.#schedule();
        },
        onHealthChange: (healthy) => {
          if (healthy && this.#problems.delete(key)) this.#schedule();
        },
      });
      informer.addHandler(() => this.#schedule());
      void informer.waitForSync().then(() => this.#schedule());
      return informer;
    };
    this.#informers = {
      events: watch(
        'events',
        `the Events of Release ${namespace}/${name}`,
        `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
        `regarding.kind=Release,regarding.name=${name}`,
      ),
      environments: watch(
        'environments',
        `Environments in ${namespace}`,
        `/apis/${API_VERSION}/namespaces/${ns}/environments`,
      ),
      dataPlanes: watch(
        'dataPlanes',
        `DataPlanes in ${namespace}`,
        `/apis/${API_VERSION}/namespaces/${ns}/dataplanes`,
      ),
    };
    this.#unsubscribe = feed.onRelease(namespace, name, () => this.#schedule());
  }

  /** start begins the watches and sends the page once the Releases are listed. */
  start(): void {
    for (const informer of Object.values(this.#informers)) informer.start();
    void this.feed.synced().then(() => this.#schedule());
  }

  /** stop ends the watches. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#unsubscribe();
    await Promise.all(Object.values(this.#informers).map((i) => i.stop()));
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.send(this.message());
    }, FLUSH_MS);
  }

  /** message is the Release page as it is now. */
  message(): DetailMessage {
    const raw = this.feed.release(this.namespace, this.name);
    const release = raw ? releaseDetail(raw) : undefined;
    const uid = isRecord(raw?.['metadata']) ? raw['metadata']['uid'] : undefined;
    const events = this.#informers.events.list().filter((e) => {
      // An older Release of the same name has other Events: only this one's uid counts.
      const regarding = isRecord(e['regarding']) ? e['regarding'] : {};
      return uid === undefined || regarding['uid'] === undefined || regarding['uid'] === uid;
    });
    const problems = [...this.#problems.values()];
    if (this.feed.problem) problems.unshift(this.feed.problem);
    const message: DetailMessage = {
      namespace: this.namespace,
      name: this.name,
      ...(release ? { release } : {}),
      events: eventTimeline(events),
      problems,
    };
    const envName = release?.environment;
    if (envName) {
      const env = this.#informers.environments;
      message.environment = env.hasSynced()
        ? environmentView(envName, env.get(this.namespace, envName))
        : environmentView(envName, undefined, this.#problems.get('environments') ?? 'loading');
      const envSpec = env.get(this.namespace, envName)?.['spec'];
      const dpName =
        isRecord(envSpec) && typeof envSpec['dataPlaneRef'] === 'string'
          ? envSpec['dataPlaneRef']
          : undefined;
      if (dpName) {
        const dps = this.#informers.dataPlanes;
        message.dataPlane = dps.hasSynced()
          ? dataPlaneView(dpName, dps.get(this.namespace, dpName))
          : dataPlaneView(dpName, undefined, this.#problems.get('dataPlanes') ?? 'loading');
      }
    }
    return message;
  }
}
