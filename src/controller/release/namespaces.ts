/**
 * Namespaces step: creates the namespaces the Release's objects live in when they are missing.
 * Create-only: a namespace is never updated or deleted by the controller, because other teams'
 * objects may live in it. Known namespaces are remembered per data plane, so the steady state
 * costs no request.
 */
import type { KubeObject } from '../../api/object.ts';
import { CONTROLLER_NAME, Labels, NAMESPACE_FIELD_MANAGER } from '../../api/v1alpha1/constants.ts';
import { isKubeApiError } from '../../kube/client.ts';
import { classifyFailure } from '../../ssa/apply.ts';
import type { ApplyContext, ResolvedItem } from './apply.ts';
import { trackingLabels } from './desired.ts';

/** NamespaceError is why the objects of one namespace cannot be applied. */
export interface NamespaceError {
  message: string;
  unreachable: boolean;
}

/** createdNamespace is the Namespace object the controller creates for a Release. */
export function createdNamespace(
  ctx: Pick<ApplyContext, 'release'>,
  name: string,
  environment: string,
): KubeObject {
  const { release } = ctx;
  const tracking = trackingLabels(release, '');
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        [Labels.createdBy]: CONTROLLER_NAME,
        [Labels.releaseName]: tracking[Labels.releaseName] ?? '',
        [Labels.releaseNamespace]: tracking[Labels.releaseNamespace] ?? '',
        [Labels.releaseUid]: tracking[Labels.releaseUid] ?? '',
        [Labels.environment]: environment,
        [Labels.project]: release.spec.owner.projectName,
      },
    },
  };
}

/** ensureNamespaces creates missing namespaces and returns the error of each one that failed. */
export async function ensureNamespaces(
  ctx: ApplyContext,
  items: ResolvedItem[],
): Promise<Map<string, NamespaceError>> {
  const { conn } = ctx;
  const carried = new Set(
    items.filter((r) => r.info.group === '' && r.info.kind === 'Namespace').map((r) => r.item.name),
  );
  const needed = new Set(
    items
      .filter((r) => r.info.namespaced && r.item.namespace && !carried.has(r.item.namespace))
      .map((r) => r.item.namespace),
  );
  const errors = new Map<string, NamespaceError>();
  await Promise.all(
    [...needed]
      .filter((ns) => !conn.knownNamespaces.has(ns))
      .map(async (ns) => {
        try {
          await ensureNamespace(ctx, ns);
          conn.knownNamespaces.add(ns);
        } catch (err) {
          const failure = classifyFailure(err);
          errors.set(ns, {
            message: `namespace ${ns} could not be created on the data plane: ${failure.message}`,
            unreachable: failure.kind === 'Unreachable',
          });
        }
      }),
  );
  return errors;
}

async function ensureNamespace(ctx: ApplyContext, name: string): Promise<void> {
  const { conn, signal } = ctx;
  try {
    await conn.client.request({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(name)}`,
      signal,
    });
    return;
  } catch (err) {
    if (!(isKubeApiError(err) && err.isNotFound)) throw err;
  }
  try {
    await conn.client.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      query: { fieldManager: NAMESPACE_FIELD_MANAGER },
      body: createdNamespace(ctx, name, ctx.release.spec.environmentName),
      signal,
    });
    ctx.logger.info({ namespace: name }, 'created namespace on the data plane');
  } catch (err) {
    if (!(isKubeApiError(err) && err.isConflict)) throw err;
  }
}
