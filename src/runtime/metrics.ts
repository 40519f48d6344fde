/**
 * The process's Prometheus metrics: one Registry with Node's process metrics, and the work queue,
 * controller and leader-election metrics under the names client-go and controller-runtime use, so
 * existing dashboards and alerts apply unchanged. Other modules register their own metrics on
 * `RuntimeMetrics.registry` (`new Counter({ ..., registers: [metrics.registry] })`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerMetrics, ReconcileOutcome } from './controller.ts';
import type { LeaderElectionMetrics } from './leaderelection.ts';
import type { InFlightWork, WorkQueueMetrics } from './workqueue.ts';

/** WORKQUEUE_BUCKETS are client-go's work queue latency buckets: 10 ns to 1000 s, by powers of ten. */
export const WORKQUEUE_BUCKETS: readonly number[] = [
  1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000,
];

/** RECONCILE_TIME_BUCKETS are controller-runtime's reconcile_time_seconds buckets. */
export const RECONCILE_TIME_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

const RECONCILE_OUTCOMES: readonly ReconcileOutcome[] = ['success', 'error', 'requeue', 'requeue_after'];

/** NewRegistryOptions configures newRegistry. */
export interface NewRegistryOptions {
  /** processMetrics adds prom-client's default Node.js process metrics; true by default. */
  processMetrics?: boolean;
}

/** newRegistry returns a fresh Registry, with Node.js process metrics unless turned off. */
export function newRegistry(options: NewRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

type QueueLabels = 'name' | 'controller';

/**
 * RuntimeMetrics defines the generic controller metrics on one registry and binds them to the
 * small metrics interfaces of WorkQueue, Controller and LeaderElector.
 */
export class RuntimeMetrics {
  /** registry holds every metric of the process; serve it on /metrics. */
  readonly registry: Registry;

  readonly workqueueDepth: Gauge<QueueLabels>;
  readonly workqueueAdds: Counter<QueueLabels>;
  readonly workqueueQueueDuration: Histogram<QueueLabels>;
  readonly workqueueWorkDuration: Histogram<QueueLabels>;
  readonly workqueueRetries: Counter<QueueLabels>;
  readonly workqueueUnfinishedWork: Gauge<QueueLabels>;
  readonly workqueueLongestRunningProcessor: Gauge<QueueLabels>;

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;

  readonly leaderElectionMasterStatus: Gauge<'name'>;

  /** inFlight maps a queue's label set to the function that reports its in-flight work. */
  private readonly inFlight = new Map<
    string,
    { labels: Record<QueueLabels, string>; read: () => InFlightWork }
  >();

  constructor(registry: Registry = newRegistry()) {
    this.registry = registry;
    const registers = [registry];
    const queueLabels: QueueLabels[] = ['name', 'controller'];
    const inFlight = this.inFlight;

    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: [...WORKQUEUE_BUCKETS],
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queueLabels,
      buckets: [...WORKQUEUE_BUCKETS],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    });
    // The two in-flight gauges are computed at scrape time rather than by a ticker (client-go
    // updates them every 500 ms), so they are exact and need no timer.
    this.workqueueUnfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by " +
        'work_duration. Large values indicate stuck threads. One can deduce the number of stuck ' +
        'threads by observing the rate at which this increases.',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const { labels, read } of inFlight.values()) this.set(labels, read().unfinishedWorkSeconds);
      },
    });
    this.workqueueLongestRunningProcessor = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: queueLabels,
      registers,
      collect() {
        for (const { labels, read } of inFlight.values()) {
          this.set(labels, read().longestRunningProcessorSeconds);
        }
      },
    });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      // Always 0: every failure here is retried. Kept so controller-runtime's dashboards work.
      help: 'Total number of terminal reconciliation errors per controller (always 0: every error is retried)',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [...RECONCILE_TIME_BUCKETS],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });

    this.leaderElectionMasterStatus = new Gauge({
      name: 'leader_election_master_status',
      help:
        'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 ' +
        "indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ['name'],
      registers,
    });
  }

  /**
   * buildInfo sets the gauge release_controller_build_info{version,commit,node} to 1, as Prometheus
   * exporters name their build (so dashboards can join on it and alerts can say which version).
   */
  buildInfo(labels: { version: string; commit: string; node: string }): void {
    new Gauge({
      name: 'release_controller_build_info',
      help: 'A metric with a constant 1 value labelled by the version (package.json), git commit and Node.js release of the controller.',
      labelNames: ['version', 'commit', 'node'],
      registers: [this.registry],
    }).set(labels, 1);
  }

  /**
   * workQueue binds the workqueue_* metrics to one queue; `controller` defaults to `name`, as
   * controller-runtime names a controller's queue after the controller.
   */
  workQueue(name: string, controller: string = name): WorkQueueMetrics {
    const labels: Record<QueueLabels, string> = { name, controller };
    const depth = this.workqueueDepth.labels(labels);
    const adds = this.workqueueAdds.labels(labels);
    const queueDuration = this.workqueueQueueDuration.labels(labels);
    const workDuration = this.workqueueWorkDuration.labels(labels);
    const retries = this.workqueueRetries.labels(labels);
    depth.set(0);
    adds.inc(0);
    retries.inc(0);
    return {
      depth: (n) => depth.set(n),
      added: () => adds.inc(),
      queueDuration: (seconds) => queueDuration.observe(seconds),
      workDuration: (seconds) => workDuration.observe(seconds),
      retried: () => retries.inc(),
      inFlightSource: (read) => {
        this.inFlight.set(JSON.stringify([name, controller]), { labels, read });
      },
    };
  }

  /** controller binds the controller_runtime_* metrics to one controller, starting every series at 0. */
  controller(name: string): ControllerMetrics {
    const labels = { controller: name };
    const total = new Map(
      RECONCILE_OUTCOMES.map((r) => [r, this.reconcileTotal.labels({ ...labels, result: r })]),
    );
    for (const counter of total.values()) counter.inc(0);
    const errors = this.reconcileErrors.labels(labels);
    const terminal = this.terminalReconcileErrors.labels(labels);
    const time = this.reconcileTime.labels(labels);
    const max = this.maxConcurrentReconciles.labels(labels);
    const active = this.activeWorkers.labels(labels);
    errors.inc(0);
    terminal.inc(0);
    active.set(0);
    return {
      reconciled: (outcome, seconds) => {
        total.get(outcome)?.inc();
        time.observe(seconds);
      },
      errored: () => errors.inc(),
      maxConcurrentReconciles: (n) => max.set(n),
      activeWorkers: (delta) => active.inc(delta),
    };
  }

  /** leaderElection binds leader_election_master_status to one lease. */
  leaderElection(name: string): LeaderElectionMetrics {
    const status = this.leaderElectionMasterStatus.labels({ name });
    status.set(0);
    return { leading: (isLeader) => status.set(isLeader ? 1 : 0) };
  }
}
