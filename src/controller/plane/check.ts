/**
 * Checking a plane's cluster, cheaply: through the connection the pool keeps for it (the one its
 * Releases use, built with the same credentials and the same grant), asking its identity (cached
 * per connection, placement.ts asks it too) and its version, at most once per period and
 * connection. In between, the result is remembered, and only the connection's watch health (in
 * memory) is looked at again; a changed spec or Secret is a new connection, checked at once.
 */
import { PlaneReasons, Reasons } from '../../api/v1alpha1/constants.ts';
import { ENDPOINT_REFUSED, isKubeApiError } from '../../kube/client.ts';
import { describeError } from '../../kube/errors.ts';
import { oneLine } from '../../api/text.ts';
import type { DataPlaneInventory } from '../../dataplane/port.ts';
import { isResolveFailure, type Target } from '../release/resolve.ts';
import type { ResolveFailure } from '../release/status.ts';
import type { Check } from './status.ts';

/** CHECK_PERIOD_MS is how often a plane that answered is asked again (one /version request). */
export const CHECK_PERIOD_MS = 5 * 60_000;
/** RETRY_PERIOD_MS is how often a plane that did not answer, or refused, is tried again. */
export const RETRY_PERIOD_MS = 60_000;
/** MAX_MESSAGE bounds what a check quotes of an error. */
const MAX_MESSAGE = 600;

/** Checked is a check and when it was made. */
export interface Checked {
  check: Check;
  at: Date;
}

/** PlaneCheckerOptions configures a PlaneChecker. */
export interface PlaneCheckerOptions {
  /** timeoutMs bounds one check (--dataplane-timeout). */
  timeoutMs: number;
  now?: () => Date;
}

/** PlaneChecker remembers the last check of each plane, per connection. */
export class PlaneChecker {
  private readonly memory = new Map<string, { port?: DataPlaneInventory; checked: Checked }>();
  private readonly now: () => Date;

  constructor(private readonly options: PlaneCheckerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * check returns the plane's last check, checking again when the connection is new or the last
   * check is older than its period. `connect` resolves the plane as a Release would (or throws);
   * `tunnelled` says a failure to answer is the tunnel's.
   */
  async check(
    key: string,
    connect: () => Promise<Target | ResolveFailure>,
    tunnelled: boolean,
    signal: AbortSignal,
  ): Promise<Checked> {
    let target: Target | ResolveFailure;
    try {
      target = await connect();
    } catch (err) {
      return this.remember(key, undefined, failureOf(err, tunnelled));
    }
    if (isResolveFailure(target)) {
      const reason =
        target.reason === Reasons.dataPlaneInvalid
          ? PlaneReasons.invalidKubeconfig
          : PlaneReasons.unreachable;
      return this.remember(key, undefined, { ok: false, reason, message: target.message });
    }
    const port = target.dataPlane;
    const last = this.memory.get(key);
    const age = last ? this.now().getTime() - last.checked.at.getTime() : Infinity;
    if (last?.port === port && age < periodOf(last.checked.check)) return withWatches(last.checked, port);
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]);
    try {
      const [clusterID, serverVersion] = await Promise.all([
        port.clusterId(timeout),
        port.serverVersion(timeout),
      ]);
      return withWatches(this.remember(key, port, { ok: true, clusterID, serverVersion }), port);
    } catch (err) {
      if (signal.aborted) throw err;
      return this.remember(key, port, failureOf(err, tunnelled));
    }
  }

  /** nextCheckInMs is when the plane's check should be made again. */
  nextCheckInMs(key: string): number {
    const last = this.memory.get(key);
    return last ? periodOf(last.checked.check) : RETRY_PERIOD_MS;
  }

  /** forget drops what is remembered of a plane that was deleted. */
  forget(key: string): void {
    this.memory.delete(key);
  }

  private remember(key: string, port: DataPlaneInventory | undefined, check: Check): Checked {
    const checked = { check, at: this.now() };
    this.memory.set(key, { ...(port && { port }), checked });
    return checked;
  }
}

function periodOf(check: Check): number {
  return check.ok ? CHECK_PERIOD_MS : RETRY_PERIOD_MS;
}

/**
 * withWatches adds the connection's broken watches (in memory, no request) to a check that
 * answered: those whose list or watch failed. A watch still making its first connection (a Release
 * just started it) is not broken; if it fails, that is a health change, which checks again.
 */
function withWatches(checked: Checked, port: DataPlaneInventory): Checked {
  if (!checked.check.ok) return checked;
  const broken = port.brokenWatches().filter((w) => w.error !== undefined);
  const { brokenWatches: _, ...check } = checked.check;
  if (broken.length === 0) return { ...checked, check };
  const kinds = broken.map((w) => `${w.info.kind} (${w.error})`);
  return {
    ...checked,
    check: { ...check, brokenWatches: oneLine(kinds.slice(0, 3).join('; '), MAX_MESSAGE) },
  };
}

/**
 * failureOf classifies a check that got no identity: refused credentials, a refusal of the
 * operator's policy, no answer (through the tunnel, or not), or the message of anything else.
 */
export function failureOf(err: unknown, tunnelled: boolean): Check {
  const message = oneLine(describeError(err), MAX_MESSAGE);
  if (isKubeApiError(err)) {
    if (err.statusCode === 401)
      return {
        ok: false,
        reason: PlaneReasons.credentialsRefused,
        message: `the API server answered 401 Unauthorized: it refused the credentials; renew the token or client certificate of the kubeconfig`,
      };
    if (err.statusCode === 403)
      return {
        ok: false,
        reason: PlaneReasons.forbidden,
        message: `the API server accepted the credentials but refused to let them read the cluster's identity (403): ${message}`,
      };
    if (err.reason === ENDPOINT_REFUSED) return { ok: false, reason: PlaneReasons.notAllowed, message };
    if (err.isUnreachable || err.statusCode === 0)
      return {
        ok: false,
        reason: tunnelled ? PlaneReasons.tunnelDown : PlaneReasons.unreachable,
        message,
      };
  }
  return { ok: false, reason: PlaneReasons.unreachable, message };
}
