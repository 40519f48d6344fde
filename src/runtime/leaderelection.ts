/**
 * Lease-based leader election, after client-go's `tools/leaderelection` with a `coordination.k8s.io/v1`
 * Lease lock. Expiry is judged by the local monotonic clock from the moment this process last saw
 * the lease record change, never by comparing `renewTime` with the local wall clock, so clock skew
 * between nodes cannot make two processes lead at once. Every write carries the resourceVersion it
 * read, so a lost race is a 409 and simply waits for the next period.
 *
 * The decisions are pure functions (observeLease, decideLeaseAction, nextLeaseSpec,
 * releasedLeaseSpec); LeaderElector only adds the I/O and the timing loops.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/object.ts';
import type { KubeClient } from '../kube/client.ts';
import { isKubeApiError } from '../kube/client.ts';
import { sleep } from '../kube/sleep.ts';

/** DEFAULT_LEASE_DURATION_MS is how long standbys wait after the last observed change before taking over (client-go default). */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/** DEFAULT_RENEW_DEADLINE_MS is how long the leader keeps trying to renew before it gives up leading (client-go default). */
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
/** DEFAULT_RETRY_PERIOD_MS is the interval between acquire and renew attempts (client-go default). */
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** JITTER_FACTOR stretches each acquire wait by up to this fraction, so standbys do not poll in step (client-go's value). */
export const JITTER_FACTOR = 1.2;
/**
 * HEALTH_SLACK_MS is how far past the lease duration a leader may go without renewing before its
 * health check fails (client-go's examples use 20 s); normally onStoppedLeading ends the process sooner.
 */
export const HEALTH_SLACK_MS = 20_000;

/** LEASE_API_PATH is the REST path of Leases. */
export const LEASE_API_PATH = '/apis/coordination.k8s.io/v1';

/** LeaseSpec is the part of `coordination.k8s.io/v1` LeaseSpec the election reads and writes. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** acquireTime and renewTime are MicroTime strings, `2006-01-02T15:04:05.000000Z`. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  [key: string]: unknown;
}

/** Lease is a `coordination.k8s.io/v1` Lease. */
export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** LeaseObservation is what a candidate last saw of the lease, and when by its own clock. */
export interface LeaseObservation {
  spec: LeaseSpec;
  /** observedAtMs is the local monotonic time at which the record was first seen in this form. */
  observedAtMs: number;
}

/** LeaseAction is what a candidate does after reading the lease. */
export type LeaseAction = 'renew' | 'acquire' | 'wait';

/** formatMicroTime renders a Date as a Kubernetes MicroTime (`2006-01-02T15:04:05.000000Z`). */
export function formatMicroTime(date: Date): string {
  return `${date.toISOString().slice(0, -1)}000Z`;
}

/** defaultIdentity returns `hostname_uuid`, as controller-runtime does: unique even when pods share a name. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

function recordKey(spec: LeaseSpec): string {
  return JSON.stringify([
    spec.holderIdentity ?? '',
    spec.leaseDurationSeconds ?? 0,
    spec.acquireTime ?? '',
    spec.renewTime ?? '',
    spec.leaseTransitions ?? 0,
  ]);
}

/**
 * observeLease returns the observation after reading spec at nowMs: the observation time moves
 * only when the record changed, so a leader that stops renewing is seen to expire even if its
 * clock (and so its renewTime) is far ahead of ours.
 */
export function observeLease(
  previous: LeaseObservation | undefined,
  spec: LeaseSpec,
  nowMs: number,
): LeaseObservation {
  if (previous && recordKey(previous.spec) === recordKey(spec))
    return { spec, observedAtMs: previous.observedAtMs };
  return { spec, observedAtMs: nowMs };
}

/** leaseExpiresAtMs returns the local time at which the observed lease expires. */
export function leaseExpiresAtMs(observation: LeaseObservation): number {
  return observation.observedAtMs + (observation.spec.leaseDurationSeconds ?? 0) * 1000;
}

/**
 * decideLeaseAction decides from an observation: renew what we hold, acquire a lease that is free
 * (released or never held) or expired, and otherwise wait.
 */
export function decideLeaseAction(
  observation: LeaseObservation,
  identity: string,
  nowMs: number,
): LeaseAction {
  const holder = observation.spec.holderIdentity ?? '';
  if (holder === identity) return 'renew';
  if (holder === '') return 'acquire';
  return leaseExpiresAtMs(observation) > nowMs ? 'wait' : 'acquire';
}

/**
 * nextLeaseSpec is the record to write to hold the lease: a renewal keeps acquireTime and the
 * transition count, a takeover starts a new term and counts one more transition. Fields we do not
 * manage (strategy, preferredHolder) are kept.
 */
export function nextLeaseSpec(
  current: LeaseSpec | undefined,
  identity: string,
  leaseDurationSeconds: number,
  now: Date,
): LeaseSpec {
  const time = formatMicroTime(now);
  if (current === undefined) {
    return {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: time,
      renewTime: time,
      leaseTransitions: 0,
    };
  }
  const renewing = current.holderIdentity === identity;
  return {
    ...current,
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing ? (current.acquireTime ?? time) : time,
    renewTime: time,
    leaseTransitions: (current.leaseTransitions ?? 0) + (renewing ? 0 : 1),
  };
}

/**
 * releasedLeaseSpec is the record that gives the lease up (client-go's ReleaseOnCancel): no
 * holder and a one-second duration, so a standby takes over on its next attempt.
 */
export function releasedLeaseSpec(current: LeaseSpec, now: Date): LeaseSpec {
  const time = formatMicroTime(now);
  return {
    ...current,
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: time,
    renewTime: time,
    leaseTransitions: current.leaseTransitions ?? 0,
  };
}

/** LeaderElectionMetrics receives the leadership state (`leader_election_master_status`). */
export interface LeaderElectionMetrics {
  /** leading reports whether this process holds the lease. */
  leading(isLeader: boolean): void;
}

/** LeaderElectorOptions configures a LeaderElector. */
export interface LeaderElectorOptions {
  /** client is the control plane's client (only `request` is used). */
  client: Pick<KubeClient, 'request'>;
  namespace: string;
  /** name is the Lease name (`--leader-election-id`). */
  name: string;
  /** identity names this candidate in the lease; defaultIdentity() by default. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  metrics?: LeaderElectionMetrics;
  /** onStartedLeading runs once the lease is held; signal aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void;
  /**
   * onStoppedLeading runs when leadership is lost while running (renewals failed for the renew
   * deadline). The process must exit then, as with client-go: another may already lead. It is not
   * called after a release requested through run's signal.
   */
  onStoppedLeading: () => void;
  /** onNewLeader runs whenever the observed holder changes (including to us). */
  onNewLeader?: (identity: string) => void;
  /** now is a monotonic clock in milliseconds; `performance.now` by default. */
  now?: () => number;
  /** wallClock gives the timestamps written into the lease; `new Date()` by default. */
  wallClock?: () => Date;
}

/** LeaderElector campaigns for one Lease and keeps it renewed while it leads. */
export class LeaderElector {
  /** identity is the holderIdentity this candidate writes. */
  readonly identity: string;
  private readonly client: Pick<KubeClient, 'request'>;
  private readonly namespace: string;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: Logger;
  private readonly options: LeaderElectorOptions;
  private readonly now: () => number;
  private readonly wallClock: () => Date;
  private lease: Lease | undefined;
  private observation: LeaseObservation | undefined;
  private leading = false;
  private lastRenewMs = 0;
  private reportedLeader: string | undefined;
  /** superseded is set when, while leading, we read a lease validly held by another candidate. */
  private superseded = false;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.client = options.client;
    this.namespace = options.namespace;
    this.name = options.name;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    this.now = options.now ?? (() => performance.now());
    this.wallClock = options.wallClock ?? (() => new Date());
    this.logger = options.logger.child({ lease: `${this.namespace}/${this.name}`, identity: this.identity });
    // The same invariants client-go enforces: the leader must give up before standbys may take over.
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) {
      throw new RangeError('leader election: leaseDuration must be greater than renewDeadline');
    }
    if (!(this.renewDeadlineMs > JITTER_FACTOR * this.retryPeriodMs) || !(this.retryPeriodMs > 0)) {
      throw new RangeError(
        `leader election: renewDeadline must be greater than ${JITTER_FACTOR} x retryPeriod > 0`,
      );
    }
    if (!this.identity) throw new RangeError('leader election: identity must not be empty');
  }

  /** isLeader tells whether this process holds the lease now. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * check is a health check: it throws when this process believes it leads but has not renewed
   * for longer than the lease duration plus HEALTH_SLACK_MS (a wedged renew loop).
   */
  check(): void {
    if (!this.leading) return;
    const sinceRenew = this.now() - this.lastRenewMs;
    if (sinceRenew > this.leaseDurationMs + HEALTH_SLACK_MS) {
      throw new Error(
        `leader has not renewed lease ${this.namespace}/${this.name} for ${Math.round(sinceRenew)} ms`,
      );
    }
  }

  /**
   * run campaigns until the lease is held, calls onStartedLeading, and renews until either signal
   * aborts (then the lease is released and run resolves) or renewal fails for the renew deadline
   * (then onStoppedLeading is called and run resolves). Abort the signal only after the work the
   * lease guards has stopped.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.options.metrics?.leading(false);
    this.logger.info('attempting to acquire leader lease');
    let sentAt: number | undefined;
    while (!signal.aborted) {
      sentAt = await this.tryAcquireOrRenew(signal);
      if (sentAt !== undefined) break;
      if (!(await pause(this.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR), signal))) break;
    }
    if (signal.aborted) {
      // An attempt may have won the lease just as we were told to stop; give it back.
      await this.release();
      return;
    }

    const leadership = new AbortController();
    this.leading = true;
    this.lastRenewMs = sentAt ?? this.now();
    this.options.metrics?.leading(true);
    this.logger.info('acquired leader lease');
    this.options.onStartedLeading(leadership.signal);

    while (await pause(this.retryPeriodMs, signal)) {
      // A renewal counts from when it was sent: the API server may have written it long before a
      // slow answer arrives, and a standby's clock for the lease started then.
      const renewedAt = await this.tryAcquireOrRenew(signal);
      if (renewedAt !== undefined) {
        this.lastRenewMs = renewedAt;
        continue;
      }
      if (signal.aborted) break;
      if (this.superseded || this.now() - this.lastRenewMs >= this.renewDeadlineMs) {
        this.leading = false;
        this.options.metrics?.leading(false);
        leadership.abort(new Error(`lost leader lease ${this.namespace}/${this.name}`));
        this.logger.error(
          { renewDeadlineMs: this.renewDeadlineMs, leader: this.reportedLeader },
          'failed to renew leader lease; leadership lost',
        );
        this.options.onStoppedLeading();
        return;
      }
    }

    leadership.abort(new Error(`released leader lease ${this.namespace}/${this.name}`));
    await this.release();
    this.leading = false;
    this.options.metrics?.leading(false);
  }

  private leasePath(): string {
    return `${LEASE_API_PATH}/namespaces/${encodeURIComponent(this.namespace)}/leases/${encodeURIComponent(this.name)}`;
  }

  private leaseDurationSeconds(): number {
    return Math.ceil(this.leaseDurationMs / 1000);
  }

  /**
   * tryAcquireOrRenew makes one attempt, bounded by what is left of the renew deadline; when we
   * hold the lease it returns the (monotonic) time the winning write was sent, else undefined.
   */
  private async tryAcquireOrRenew(runSignal: AbortSignal): Promise<number | undefined> {
    const budgetMs = this.leading
      ? Math.max(1, this.lastRenewMs + this.renewDeadlineMs - this.now())
      : this.renewDeadlineMs;
    const signal = AbortSignal.any([runSignal, AbortSignal.timeout(Math.max(1, Math.ceil(budgetMs)))]);
    const request = { signal, timeoutMs: budgetMs, retries: 0 };

    // Fast path: while we lead, write the renewal over the lease we last wrote, saving a GET.
    const held = this.lease;
    if (this.leading && held && this.observation && leaseExpiresAtMs(this.observation) > this.now()) {
      const sentAt = this.now();
      try {
        await this.write(
          {
            ...held,
            spec: nextLeaseSpec(held.spec, this.identity, this.leaseDurationSeconds(), this.wallClock()),
          },
          request,
        );
        return sentAt;
      } catch (err) {
        if (signal.aborted) return undefined;
        this.logger.debug({ err }, 'fast lease renewal failed; reading the lease');
      }
    }

    let lease: Lease;
    try {
      lease = await this.client.request<Lease>({ method: 'GET', path: this.leasePath(), ...request });
    } catch (err) {
      if (!isKubeApiError(err) || !err.isNotFound) {
        this.logger.warn({ err }, 'cannot read leader lease');
        return undefined;
      }
      return this.create(request);
    }

    this.lease = lease;
    this.observation = observeLease(this.observation, lease.spec ?? {}, this.now());
    this.reportLeader(lease.spec?.holderIdentity ?? '');
    const action = decideLeaseAction(this.observation, this.identity, this.now());
    if (action === 'wait') {
      // Someone else holds a valid lease: whatever the deadline says, we no longer lead.
      if (this.leading) this.superseded = true;
      return undefined;
    }
    const sentAt = this.now();
    try {
      await this.write(
        {
          ...lease,
          spec: nextLeaseSpec(lease.spec, this.identity, this.leaseDurationSeconds(), this.wallClock()),
        },
        request,
      );
      return sentAt;
    } catch (err) {
      if (isKubeApiError(err) && err.isConflict) {
        this.logger.debug('lost a race for the leader lease; retrying next period');
      } else if (!signal.aborted) {
        this.logger.warn({ err, action }, 'cannot update leader lease');
      }
      return undefined;
    }
  }

  private async create(request: {
    signal: AbortSignal;
    timeoutMs: number;
    retries: number;
  }): Promise<number | undefined> {
    const sentAt = this.now();
    const body: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: nextLeaseSpec(undefined, this.identity, this.leaseDurationSeconds(), this.wallClock()),
    };
    try {
      const created = await this.client.request<Lease>({
        method: 'POST',
        path: `${LEASE_API_PATH}/namespaces/${encodeURIComponent(this.namespace)}/leases`,
        body,
        ...request,
      });
      this.accept(created);
      return sentAt;
    } catch (err) {
      if (isKubeApiError(err) && err.isConflict) {
        this.logger.debug('another candidate created the leader lease first');
      } else {
        this.logger.warn({ err }, 'cannot create leader lease');
      }
      return undefined;
    }
  }

  /** write replaces the lease; its resourceVersion makes the API server refuse it if anyone wrote since we read. */
  private async write(
    lease: Lease,
    request: { signal: AbortSignal; timeoutMs: number; retries: number },
  ): Promise<void> {
    const updated = await this.client.request<Lease>({
      method: 'PUT',
      path: this.leasePath(),
      body: lease,
      ...request,
    });
    this.accept(updated);
  }

  private accept(lease: Lease): void {
    this.lease = lease;
    this.observation = { spec: lease.spec ?? {}, observedAtMs: this.now() };
    this.reportLeader(lease.spec?.holderIdentity ?? '');
  }

  private reportLeader(holder: string): void {
    if (holder === '' || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    this.logger.info({ leader: holder }, 'new leader observed');
    this.options.onNewLeader?.(holder);
  }

  /** release gives the lease up so a standby need not wait for it to expire; failures only delay the takeover. */
  private async release(): Promise<void> {
    const request = {
      signal: AbortSignal.timeout(this.renewDeadlineMs),
      timeoutMs: this.renewDeadlineMs,
      retries: 1,
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      const lease = this.lease;
      if (!lease?.spec || lease.spec.holderIdentity !== this.identity) return;
      try {
        await this.write({ ...lease, spec: releasedLeaseSpec(lease.spec, this.wallClock()) }, request);
        this.logger.info('released leader lease');
        return;
      } catch (err) {
        if (!isKubeApiError(err) || !err.isConflict || attempt > 0) {
          this.logger.warn({ err }, 'cannot release leader lease; standbys take over once it expires');
          return;
        }
        try {
          this.lease = await this.client.request<Lease>({
            method: 'GET',
            path: this.leasePath(),
            ...request,
          });
        } catch (getErr) {
          this.logger.warn({ err: getErr }, 'cannot read leader lease to release it');
          return;
        }
      }
    }
  }
}

/** pause waits ms and resolves true, or resolves false as soon as signal aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}
