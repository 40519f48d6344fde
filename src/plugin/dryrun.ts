/**
 * `kubectl release diff`, its I/O: resolve the Release's data plane with the user's own rights
 * (Release namespace → Environment → DataPlane → inline credentials or kubeconfig Secret, through
 * the controller's credential checks), then run the controller's own apply step in dry-run
 * (controller/release/apply.ts: applyAll under the Release's releasePolicy) and its prune plan
 * (prune.ts prunePlan) over a read-only, one-shot port of the data plane (dataplane/readonly.ts:
 * the Release's objects listed by label once, every write a server-side dry run or refused). The
 * plan is the controller's, so the two cannot disagree; changes.ts says it and diffview.ts renders it.
 */
import pino from 'pino';
import { API_VERSION, Annotations, Labels, ReleaseApplyModes } from '../api/v1alpha1/constants.ts';
import { PROFILES } from '../api/v1alpha1/profile.ts';
import type { DataPlane, Environment, Release } from '../api/v1alpha1/schema.ts';
import { applyRelease, type ItemOutcome } from '../controller/release/apply.ts';
import { desiredItems, type DesiredItem } from '../controller/release/desired.ts';
import { Inventory } from '../controller/release/inventory.ts';
import { kindsToWatch } from '../controller/release/kinds.ts';
import { planningIdentity, previewTarget, retentionOf } from '../controller/release/policy.ts';
import { prunePlan } from '../controller/release/prune.ts';
import { declaredRef, DEFAULT_PLANE, PlaneKinds } from '../controller/release/resolve.ts';
import {
  accessFromInline,
  accessFromSecret,
  CredentialsError,
  type SecretLike,
} from '../dataplane/credentials.ts';
import {
  DEFAULT_ENDPOINT_POLICY,
  describeRefusal,
  EndpointPolicy,
  serverHost,
} from '../dataplane/endpoint.ts';
import { ReadOnlyDataPlane } from '../dataplane/readonly.ts';
import { isKubeApiError, type KubeClient } from '../kube/client.ts';
import { clientFor } from '../kube/kubeconfig.ts';
import { ApplyMemory } from '../ssa/memory.ts';
import { entriesOfRemovals, entryOfOutcome } from './changes.ts';
import { maskSecrets, type DiffEntry } from './diffview.ts';

/** NoAccessError says the user may not read what `diff` needs; its message suggests the DryRun annotation. */
export class NoAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAccessError';
  }
}

/** PlanError says the diff cannot be made (missing Environment, bad credentials, ...). */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/**
 * previewAdvice tells how to ask the controller for a preview of Release `name` instead: a Release
 * under another name in apply mode DryRun that names it with preview-of, so the live Release's
 * objects are planned as its own (no Conflict) and nothing of it is touched.
 */
export function previewAdvice(name: string): string {
  const preview = `${name}-preview`;
  return (
    `Ask the controller for a preview instead: apply the Release as ${preview} with the annotations ` +
    `${Annotations.applyMode}: ${ReleaseApplyModes.dryRun} and ${Annotations.previewOf}: ${name}, ` +
    `and read the plan with \`kubectl release tree ${preview}\``
  );
}

const REQUEST_TIMEOUT_MS = 30_000;
/** PLAN_TIMEOUT_MS bounds one dry-run pass over a Release's objects. */
const PLAN_TIMEOUT_MS = 300_000;

/** ENDPOINTS is the controller's default endpoint policy (dataplane/endpoint.ts), which `diff` applies too. */
const ENDPOINTS = new EndpointPolicy(DEFAULT_ENDPOINT_POLICY);

const releasesPath = (ns: string) => `/apis/${API_VERSION}/namespaces/${encodeURIComponent(ns)}`;

/** noAccess is the error for a Forbidden read of something `diff` needs. */
function noAccess(what: string, release: string): NoAccessError {
  return new NoAccessError(
    `you may not read ${what}, which \`kubectl release diff\` needs to dry-run against the data plane ` +
      `(only users who can read the DataPlane's credentials can). ${previewAdvice(release)}.`,
  );
}

/** get reads one control-plane object; undefined when it does not exist, NoAccessError when forbidden. */
async function get<T>(cp: KubeClient, path: string, what: string, release: string): Promise<T | undefined> {
  try {
    return await cp.request<T>({ method: 'GET', path });
  } catch (err) {
    if (isKubeApiError(err) && err.isNotFound) return undefined;
    if (isKubeApiError(err) && (err.statusCode === 403 || err.statusCode === 401))
      throw noAccess(what, release);
    throw err;
  }
}

/** DataPlaneTarget is the user's connection to a Release's data plane. */
export interface DataPlaneTarget {
  dataPlane: DataPlane;
  client: KubeClient;
}

/** connectDataPlane resolves a Release's data plane as the controller does (resolve.ts), with the user's rights. */
export async function connectDataPlane(cp: KubeClient, release: Release): Promise<DataPlaneTarget> {
  const ns = release.metadata.namespace ?? '';
  const key = `${ns}/${release.metadata.name}`;
  const envName = release.spec.environmentName;
  const env = await get<Environment>(
    cp,
    `${releasesPath(ns)}/environments/${encodeURIComponent(envName)}`,
    `Environment ${ns}/${envName}`,
    release.metadata.name,
  );
  if (!env)
    throw new PlanError(`Environment ${ns}/${envName} (spec.environmentName of Release ${key}) not found`);
  const declared = declaredRef(env);
  if (declared && ('invalid' in declared || declared.kind !== PlaneKinds.dataPlane)) {
    throw new PlanError(
      'invalid' in declared
        ? declared.invalid
        : `Environment ${ns}/${envName} uses ClusterDataPlane ${declared.name}; the plugin previews only through DataPlanes of the namespace`,
    );
  }
  const dpName = declared?.name ?? DEFAULT_PLANE;
  const dataPlane = await get<DataPlane>(
    cp,
    `${releasesPath(ns)}/dataplanes/${encodeURIComponent(dpName)}`,
    `DataPlane ${ns}/${dpName}`,
    release.metadata.name,
  );
  if (!dataPlane)
    throw new PlanError(`DataPlane ${ns}/${dpName} (spec.dataPlaneRef of Environment ${envName}) not found`);
  // Only the controller reaches a tunnelled data plane (through the operator's proxy): its server
  // is an address inside the data plane's own network, which must not be dialled from here.
  if (dataPlane.spec.kubernetesCluster?.tunnel) {
    throw new PlanError(
      `DataPlane ${ns}/${dpName} is reached through a tunnel (spec.kubernetesCluster.tunnel), which only the controller can use, so \`kubectl release diff\` cannot dry-run against it. ${previewAdvice(release.metadata.name ?? '')}`,
    );
  }
  const ref = dataPlane.spec.kubernetesCluster?.secretRef;
  try {
    const access = ref
      ? await accessFromSecret(
          dataPlane,
          await get<SecretLike>(
            cp,
            `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(ref.name)}`,
            `Secret ${ns}/${ref.name} (the kubeconfig of DataPlane ${ns}/${dpName})`,
            release.metadata.name,
          ),
        )
      : accessFromInline(dataPlane);
    // The server is a tenant's choice, dialled from the user's machine: the controller's default
    // endpoint policy applies (no metadata or link-local addresses, https only), at every connect too.
    const refused = await ENDPOINTS.checkServer(access.server);
    if (refused) throw new PlanError(describeRefusal(`DataPlane ${ns}/${dpName}`, access.server, refused));
    const client = clientFor(access, {
      name: `DataPlane ${ns}/${dpName}`,
      timeoutMs: REQUEST_TIMEOUT_MS,
      maxRetries: 1,
      lookup: ENDPOINTS.lookup(serverHost(access.server)),
    });
    return { dataPlane, client };
  } catch (err) {
    if (err instanceof CredentialsError) throw new PlanError(err.message);
    throw err;
  }
}

/** ReleasePlan is the report of one Release of the file. */
export interface ReleasePlan {
  /** release is `namespace/name`. */
  release: string;
  /** exists tells whether the Release exists on the control plane (its uid finds what to prune). */
  exists: boolean;
  entries: DiffEntry[];
}

/**
 * OwnerLookup answers the controller's question "does this Release still exist?" (policy.ts
 * ReleaseExists, synchronous) from the control plane as the user sees it. A question not answered
 * yet is remembered and answered cautiously (it lives: its object is not taken over); the pass is
 * then run again with the answers read.
 */
class OwnerLookup {
  private readonly known = new Map<string, boolean>();
  private readonly asked = new Map<string, { namespace: string; name: string; uid: string }>();

  constructor(private readonly cp: KubeClient) {}

  readonly exists = (namespace: string, name: string, uid: string): boolean => {
    const key = JSON.stringify([namespace, name, uid]);
    const answer = this.known.get(key);
    if (answer !== undefined) return answer;
    this.asked.set(key, { namespace, name, uid });
    return true;
  };

  /** pending tells whether a question was asked that is not answered yet. */
  get pending(): boolean {
    return this.asked.size > 0;
  }

  /** answer reads every Release asked about, of either kind, by name and uid. */
  async answer(): Promise<void> {
    const asked = [...this.asked];
    this.asked.clear();
    await Promise.all(
      asked.map(async ([key, { namespace, name, uid }]) => {
        let exists = false;
        for (const profile of PROFILES) {
          try {
            const found = await this.cp.request<Release>({
              method: 'GET',
              path: `${releasesPath(namespace)}/${profile.plural}/${encodeURIComponent(name)}`,
            });
            exists ||= found.metadata.uid === uid;
          } catch (err) {
            // Unreadable (another organization's namespace): it lives, as the cautious answer.
            if (!(isKubeApiError(err) && err.isNotFound)) exists = true;
          }
        }
        this.known.set(key, exists);
      }),
    );
  }
}

/** MAX_PASSES bounds the dry-run passes of one Release: the second has every owner answered. */
const MAX_PASSES = 2;

/**
 * planRelease plans one Release of the file as the controller would apply it: the apply step in
 * dry-run, then what its prune would do with the objects the spec no longer has.
 */
export async function planRelease(cp: KubeClient, fromFile: Release): Promise<ReleasePlan> {
  const ns = fromFile.metadata.namespace ?? '';
  const name = fromFile.metadata.name;
  const live = await get<Release>(
    cp,
    `${releasesPath(ns)}/releases/${encodeURIComponent(name)}`,
    `Release ${ns}/${name}`,
    name,
  );
  // The controller plans with the stored Release's uid (its labels) and status (its inventory).
  const release: Release = {
    ...fromFile,
    metadata: { ...fromFile.metadata, uid: live?.metadata.uid },
    ...(live?.status ? { status: live.status } : { status: undefined }),
  };
  const previewed = await previewedBy(cp, release);
  const target = await connectDataPlane(cp, release);
  const dp = target.dataPlane.metadata;
  const identity = planningIdentity(release, previewed);
  const uid = identity.metadata.uid;
  const port = new ReadOnlyDataPlane(
    `${dp.namespace ?? ''}/${dp.name}`,
    target.client,
    uid ? { key: Labels.releaseUid, value: uid } : undefined,
  );
  try {
    const items = desiredItems(identity);
    // Listed once: the kinds of the spec and of the inventory (objects an earlier spec left).
    await port.useKinds(`${ns}/${name}`, [
      ...(await kindsToWatch(port, release, items)),
      ...(previewed ? await kindsToWatch(port, previewed) : []),
    ]);
    const outcomes = await dryRun(cp, port, release, previewed, target.dataPlane, items);
    const owner = previewed ?? release;
    const removals = uid
      ? prunePlan(
          {
            key: `${ns}/${name}`,
            releaseUid: uid,
            dataPlane: port,
            retain: retentionOf(owner, () => items),
            inventory: Inventory.of(owner.status),
          },
          outcomes,
        )
      : undefined;
    const entries = [
      ...outcomes.map((o) => {
        const ns = o.namespaced === false ? undefined : o.item.namespace || undefined;
        return entryOfOutcome(o, port.dryRunAnswer(o.item.group, o.item.kind, ns, o.item.name));
      }),
      ...entriesOfRemovals(removals),
    ].map(maskSecrets);
    return { release: `${ns}/${name}`, exists: live !== undefined, entries };
  } finally {
    await port.close();
  }
}

/** previewedBy reads the Release a preview names (annotation preview-of), refused as the controller refuses it. */
async function previewedBy(cp: KubeClient, release: Release): Promise<Release | undefined> {
  const named = release.metadata.annotations?.[Annotations.previewOf];
  if (named === undefined) return undefined;
  const ns = release.metadata.namespace ?? '';
  const found =
    named && named !== release.metadata.name
      ? await get<Release>(
          cp,
          `${releasesPath(ns)}/releases/${encodeURIComponent(named)}`,
          `Release ${ns}/${named}`,
          release.metadata.name,
        )
      : undefined;
  const planAs = previewTarget(release, (n) => (n === named ? found : undefined));
  if (planAs.refusal !== undefined) throw new PlanError(planAs.refusal);
  return planAs.previewed;
}

/**
 * dryRun runs the controller's apply step in dry-run over the read-only port, with the
 * DataPlane's resource policy, once more when the first pass asked about Releases not read yet.
 * A data plane that did not answer is an error of the diff, not a plan.
 */
async function dryRun(
  cp: KubeClient,
  port: ReadOnlyDataPlane,
  release: Release,
  previewed: Release | undefined,
  dataPlane: DataPlane,
  items: DesiredItem[],
): Promise<ItemOutcome[]> {
  const owners = new OwnerLookup(cp);
  const resourcePolicy = dataPlane.spec.resourcePolicy;
  let outcomes: ItemOutcome[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    outcomes = await applyRelease(
      {
        release,
        dataPlane: port,
        memory: new ApplyMemory(),
        releaseExists: owners.exists,
        ...(resourcePolicy && { resourcePolicy }),
        ...(previewed && { previewed }),
        dryRun: true,
        logger: pino({ level: 'silent' }),
        signal: AbortSignal.timeout(PLAN_TIMEOUT_MS),
      },
      items,
    );
    if (!owners.pending) break;
    await owners.answer();
  }
  const unreachable = outcomes.find((o) => o.unreachable);
  if (unreachable)
    throw new PlanError(
      `DataPlane ${port.key} did not answer, so nothing could be planned: ${unreachable.message ?? ''}`,
    );
  return outcomes;
}
