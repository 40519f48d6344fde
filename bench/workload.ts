/**
 * The benchmark's workload: Releases of four objects each (a Deployment scaled to 0, a
 * ServiceAccount, a headless Service and a ConfigMap), ten Releases to a data-plane namespace, so
 * that a plain cluster (no controllers, a /24 service range) holds any number of them.
 */
import type { Release } from '../src/api/v1alpha1/schema.ts';
import { configMap, releaseObject, type Org } from '../test/support/fixtures.ts';

/** OBJECTS_PER_RELEASE is how many data-plane objects each benchmark Release applies. */
export const OBJECTS_PER_RELEASE = 4;

/** DATA_PLANE_RESOURCES are the API resources (`plural.group`) of the objects a benchmark Release applies. */
export const DATA_PLANE_RESOURCES: readonly string[] = [
  'deployments.apps',
  'serviceaccounts',
  'services',
  'configmaps',
];

/** RELEASES_PER_NAMESPACE is how many Releases share one data-plane namespace. */
export const RELEASES_PER_NAMESPACE = 10;

/** ResourceIds names the spec.resources ids of a benchmark Release. */
export const ResourceIds = {
  deployment: 'deployment',
  serviceAccount: 'service-account',
  service: 'service',
  config: 'config',
} as const;

/** CONFIG_KEY is the ConfigMap key the controller owns and the edit trials change. */
export const CONFIG_KEY = 'key';

/** BenchTarget names the data-plane objects of Release number `index`. */
export interface BenchTarget {
  /** release is the Release name on the control plane. */
  release: string;
  /** namespace is the data-plane namespace of its objects. */
  namespace: string;
  /** name is the name of each of its objects. */
  name: string;
  /** configValue is the value the controller keeps under CONFIG_KEY. */
  configValue: string;
}

/** benchTarget returns the names used by Release number `index`. */
export function benchTarget(index: number): BenchTarget {
  const name = `app-${String(index).padStart(4, '0')}`;
  return {
    release: name,
    namespace: `bench-${String(Math.floor(index / RELEASES_PER_NAMESPACE)).padStart(3, '0')}`,
    name,
    configValue: `value-${index}`,
  };
}

/** benchRelease builds Release number `index` of an organization, with the default intervals. */
export function benchRelease(org: Org, index: number): Release {
  const t = benchTarget(index);
  const labels = { app: t.name };
  return releaseObject(org, t.release, [
    {
      id: ResourceIds.deployment,
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: t.name, namespace: t.namespace },
        spec: {
          replicas: 0,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: t.name,
              containers: [
                { name: 'main', image: 'registry.example/app:1.0.0', ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    },
    {
      id: ResourceIds.serviceAccount,
      object: {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: t.name, namespace: t.namespace },
      },
    },
    {
      id: ResourceIds.service,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: t.name, namespace: t.namespace },
        // Headless: the test-bed's service range (/24) has no room for a ClusterIP per Release.
        spec: { clusterIP: 'None', selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
    },
    configMap(ResourceIds.config, t.namespace, t.name, { [CONFIG_KEY]: t.configValue }),
  ]);
}
