/**
 * Where the controller may connect: a DataPlane's server URL is tenant input, checked against the
 * operator's endpoint policy before any connection. A refused endpoint is DataPlaneInvalid naming
 * the rule and its flag; nothing is sent there, and other organizations keep working.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import type { Release } from '../../src/api/v1alpha1/schema.ts';
import { eventually } from '../support/eventually.ts';
import {
  condition,
  configMap,
  dataPlaneObject,
  getRelease,
  releaseObject,
  uniqueName,
  waitReady,
} from '../support/fixtures.ts';
import type { TestKube } from '../support/kube.ts';
import { integrationSuite } from '../support/suite.ts';

/** refusal waits until a Release says DataPlaneInvalid and returns its message. */
function refusal(cp: TestKube, namespace: string, name: string): Promise<string> {
  return eventually(
    async () => {
      const r: Release | undefined = await getRelease(cp, namespace, name);
      const applied = r && condition(r, 'ResourcesApplied');
      assert.equal(applied?.reason, 'DataPlaneInvalid', `ResourcesApplied: ${JSON.stringify(applied)}`);
      return applied?.message ?? '';
    },
    { description: `Release ${namespace}/${name} to be DataPlaneInvalid` },
  );
}

describe('endpoint policy', () => {
  const suite = integrationSuite({ credentials: 'inline' });

  test('a DataPlane pointing at the cloud metadata address is refused before any connection, naming the rule', async () => {
    const { cp, clusters, org } = suite;
    // Another DataPlane in the same organization, the same cluster's credentials, a metadata server URL.
    const metadata = dataPlaneObject(org.namespace, 'metadata', clusters.dp, 'inline');
    const credentials = (metadata.spec as { kubernetesCluster: { credentials: { apiServerURL: string } } })
      .kubernetesCluster.credentials;
    credentials.apiServerURL = 'https://169.254.169.254:443';
    await cp.create(metadata);
    const env = uniqueName('env');
    await cp.create({
      apiVersion: API_VERSION,
      kind: 'Environment',
      metadata: { name: env, namespace: org.namespace },
      spec: { dataPlaneRef: 'metadata' },
    });
    const name = uniqueName('imds');
    await cp.create(
      releaseObject({ ...org, environment: env }, name, [configMap('cfg', 'default', 'imds', {})]),
    );
    const message = await refusal(cp, org.namespace, name);
    assert.equal(
      message,
      `DataPlane ${org.namespace}/metadata: server https://169.254.169.254:443 is refused by the controller's endpoint policy: 169.254.169.254 is in the denied range 169.254.0.0/16 (--dataplane-denied-cidrs). Use another server address, or ask the platform operator to change the policy`,
    );
    // Nothing was sent: no request of that DataPlane reached the metrics, and none got "no answer".
    const metrics = await suite.controller.metrics();
    assert.doesNotMatch(metrics, new RegExp(`cluster="data plane ${org.namespace}/metadata"`));
    assert.doesNotMatch(suite.controller.logTail(20_000), /169\.254\.169\.254.*got no answer/);

    // The organization's own DataPlane keeps working.
    const ok = uniqueName('ok');
    await cp.create(releaseObject(org, ok, [configMap('cfg', 'default', ok, {})]));
    await waitReady(cp, org, ok);
  });
});

describe('endpoint policy of a controller in a pod', () => {
  // As the Helm chart runs it: loopback is the controller's own, so it is denied.
  const suite = integrationSuite({
    controllerArgs: [
      '--dataplane-denied-cidrs=169.254.0.0/16,fe80::/10,127.0.0.0/8,0.0.0.0/8,::1/128,::/128',
    ],
  });

  test('refuses a data plane on 127.0.0.1, naming the rule', async () => {
    const { cp, org } = suite;
    const name = uniqueName('loop');
    await cp.create(releaseObject(org, name, [configMap('cfg', 'default', name, {})]));
    const message = await refusal(cp, org.namespace, name);
    assert.match(
      message,
      /server of the kubeconfig in Secret dp-kubeconfig is refused by the controller's endpoint policy: it is in the denied range 127\.0\.0\.0\/8 \(--dataplane-denied-cidrs\)/,
    );
    // The kubeconfig Secret is the operator's: its server is not the tenant's to read.
    assert.doesNotMatch(message, /127\.0\.0\.1/);
  });
});
