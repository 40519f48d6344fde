/**
 * ReleaseRecorder watches one Release and keeps every distinct state of its health and Ready
 * condition, so a test can assert a sequence (Progressing, then Healthy) that polling could miss.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, ConditionTypes } from '../../src/api/v1alpha1/constants.ts';
import type { Condition, Release } from '../../src/api/v1alpha1/schema.ts';
import type { HealthStatus } from '../../src/api/v1alpha1/constants.ts';
import { eventually } from '../support/eventually.ts';
import type { TestKube } from '../support/kube.ts';

/** EntryHealth is what a user reads about one resource in status.resources. */
export interface EntryHealth {
  healthStatus: HealthStatus;
  healthReason?: string;
  message?: string;
}

/** Snapshot is one observed state of a Release. */
export interface Snapshot {
  generation?: number;
  /** resources maps a resource id to its health. */
  resources: Record<string, EntryHealth>;
  ready?: Condition;
}

function snapshotOf(release: Release): Snapshot {
  const resources: Record<string, EntryHealth> = {};
  for (const r of release.status?.resources ?? []) {
    resources[r.id] = { healthStatus: r.healthStatus, healthReason: r.healthReason, message: r.message };
  }
  const ready = release.status?.conditions?.find((c) => c.type === ConditionTypes.ready);
  return { generation: release.metadata.generation, resources, ready };
}

function key(s: Snapshot): string {
  const { lastTransitionTime: _t, ...ready } = s.ready ?? {};
  return JSON.stringify([s.generation, s.resources, ready]);
}

/** formatSnapshot renders a snapshot on one line, for failure messages. */
export function formatSnapshot(s: Snapshot): string {
  const ready = s.ready
    ? `Ready=${s.ready.status}/${s.ready.reason} (gen ${s.ready.observedGeneration})`
    : 'no Ready';
  const entries = Object.entries(s.resources).map(
    ([id, e]) => `${id}=${e.healthStatus}/${e.healthReason ?? ''} (${e.message ?? ''})`,
  );
  return `gen ${s.generation}: ${ready}; ${entries.join('; ')}`;
}

/** ReleaseRecorder records the distinct states of one Release from a watch. */
export class ReleaseRecorder {
  readonly snapshots: Snapshot[] = [];
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;

  private constructor(
    private readonly cp: TestKube,
    readonly namespace: string,
    readonly name: string,
  ) {
    this.loop = this.run();
  }

  /** start begins watching; the Release need not exist yet. */
  static start(cp: TestKube, namespace: string, name: string): ReleaseRecorder {
    return new ReleaseRecorder(cp, namespace, name);
  }

  private async run(): Promise<void> {
    const path = `/apis/${API_VERSION}/namespaces/${this.namespace}/releases`;
    const { signal } = this.abort;
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        await this.cp.client.watch<Release>(
          path,
          { fieldSelector: `metadata.name=${this.name}`, resourceVersion, timeoutSeconds: 120 },
          (event) => {
            if (event.type === 'ERROR') {
              // Usually 410 Gone: start again from the current state.
              resourceVersion = undefined;
              return;
            }
            resourceVersion = event.object.metadata.resourceVersion;
            if (event.type === 'ADDED' || event.type === 'MODIFIED') this.record(snapshotOf(event.object));
          },
          signal,
        );
      } catch {
        if (!signal.aborted) await sleep(200);
      }
    }
  }

  private record(s: Snapshot): void {
    const last = this.snapshots.at(-1);
    if (last === undefined || key(last) !== key(s)) this.snapshots.push(s);
  }

  /** waitFor waits until a recorded snapshot satisfies `pred` and returns its index. */
  async waitFor(pred: (s: Snapshot) => boolean, description: string, from = 0): Promise<number> {
    return eventually(
      () => {
        const i = this.snapshots.findIndex((s, idx) => idx >= from && pred(s));
        if (i < 0) throw new Error(`states seen:\n${this.history()}`);
        return i;
      },
      { timeoutMs: 60_000, description },
    );
  }

  /** history renders every recorded snapshot, one a line. */
  history(from = 0): string {
    return this.snapshots
      .slice(from)
      .map((s, i) => `  ${i + from}: ${formatSnapshot(s)}`)
      .join('\n');
  }

  /** stop ends the watch. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
