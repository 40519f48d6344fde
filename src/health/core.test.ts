import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { namespaceHealth, persistentVolumeClaimHealth, podHealth, serviceHealth } from './core.ts';
import { runTable, captured } from '../../test/support/health-table.ts';

function pod(status: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'api-7c5b9d8f6d-x2k9p',
      namespace: 'shop',
      uid: '0b1e6c2a-5f7d-4c1e-9a8b-3d2f1e0c9b8a',
    },
    spec: {
      restartPolicy: 'Always',
      containers: [{ name: 'api', image: 'registry.example.com/api:v2' }],
      ...spec,
    },
    status,
  };
}

const cond = (type: string, status: string, extra: Record<string, unknown> = {}) => ({
  type,
  status,
  lastProbeTime: null,
  lastTransitionTime: '2025-06-01T11:55:00Z',
  ...extra,
});

const runningReady = {
  phase: 'Running',
  hostIP: '10.0.1.12',
  podIP: '10.244.1.17',
  startTime: '2025-06-01T11:55:00Z',
  qosClass: 'BestEffort',
  conditions: [
    cond('PodReadyToStartContainers', 'True'),
    cond('Initialized', 'True'),
    cond('Ready', 'True'),
    cond('ContainersReady', 'True'),
    cond('PodScheduled', 'True'),
  ],
  containerStatuses: [
    {
      name: 'api',
      ready: true,
      started: true,
      restartCount: 0,
      image: 'registry.example.com/api:v2',
      imageID: 'registry.example.com/api@sha256:4f1c',
      containerID: 'containerd://9e1f',
      state: { running: { startedAt: '2025-06-01T11:55:03Z' } },
      lastState: {},
    },
  ],
};

const notReadyConditions = [
  cond('PodReadyToStartContainers', 'True'),
  cond('Initialized', 'True'),
  cond('Ready', 'False', { reason: 'ContainersNotReady', message: 'containers with unready status: [api]' }),
  cond('ContainersReady', 'False', {
    reason: 'ContainersNotReady',
    message: 'containers with unready status: [api]',
  }),
  cond('PodScheduled', 'True'),
];

const crashLoop = {
  ...runningReady,
  conditions: notReadyConditions,
  containerStatuses: [
    {
      name: 'api',
      ready: false,
      started: false,
      restartCount: 5,
      image: 'registry.example.com/api:v2',
      imageID: 'registry.example.com/api@sha256:4f1c',
      containerID: 'containerd://a71d',
      state: {
        waiting: {
          reason: 'CrashLoopBackOff',
          message:
            'back-off 2m40s restarting failed container=api pod=api-7c5b9d8f6d-x2k9p_shop(0b1e6c2a-5f7d-4c1e-9a8b-3d2f1e0c9b8a)',
        },
      },
      lastState: {
        terminated: {
          exitCode: 1,
          reason: 'Error',
          startedAt: '2025-06-01T11:57:10Z',
          finishedAt: '2025-06-01T11:57:12Z',
          containerID: 'containerd://a71d',
        },
      },
    },
  ],
};

void describe('podHealth', () => {
  runTable(podHealth, [
    {
      name: 'Running and Ready is Healthy',
      obj: pod(runningReady),
      status: 'Healthy',
      reason: 'PodReady',
      message: '1/1 containers ready',
    },
    {
      name: 'CrashLoopBackOff is Degraded, with the last exit',
      obj: pod(crashLoop),
      status: 'Degraded',
      reason: 'CrashLoopBackOff',
      message:
        /^container api: CrashLoopBackOff after exit code 1 \(Error\): back-off 2m40s restarting failed/,
    },
    {
      name: 'ImagePullBackOff keeps the pod Pending and is Degraded',
      obj: pod({
        phase: 'Pending',
        conditions: notReadyConditions,
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            started: false,
            restartCount: 0,
            image: 'registry.example.com/api:v9',
            imageID: '',
            state: {
              waiting: {
                reason: 'ImagePullBackOff',
                message: 'Back-off pulling image "registry.example.com/api:v9"',
              },
            },
            lastState: {},
          },
        ],
      }),
      status: 'Degraded',
      reason: 'ImagePullBackOff',
      message: 'container api: ImagePullBackOff: Back-off pulling image "registry.example.com/api:v9"',
    },
    {
      name: 'ErrImagePull is Degraded',
      obj: pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            restartCount: 0,
            state: {
              waiting: {
                reason: 'ErrImagePull',
                message:
                  'failed to pull and unpack image "registry.example.com/api:v9": failed to resolve reference "registry.example.com/api:v9": not found',
              },
            },
          },
        ],
      }),
      status: 'Degraded',
      reason: 'ErrImagePull',
    },
    {
      name: 'CreateContainerConfigError (missing Secret) is Degraded',
      obj: pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            restartCount: 0,
            state: {
              waiting: { reason: 'CreateContainerConfigError', message: 'secret "api-db" not found' },
            },
          },
        ],
      }),
      status: 'Degraded',
      reason: 'CreateContainerConfigError',
      message: 'container api: CreateContainerConfigError: secret "api-db" not found',
    },
    {
      name: 'InvalidImageName is Degraded',
      obj: pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            restartCount: 0,
            state: {
              waiting: {
                reason: 'InvalidImageName',
                message: 'Failed to apply default image tag "API:latest"',
              },
            },
          },
        ],
      }),
      status: 'Degraded',
      reason: 'InvalidImageName',
    },
    {
      name: 'init container in CrashLoopBackOff is Degraded while the pod is Pending',
      obj: pod({
        phase: 'Pending',
        conditions: [
          cond('Initialized', 'False', {
            reason: 'ContainersNotInitialized',
            message: 'containers with incomplete status: [migrate]',
          }),
          cond('PodScheduled', 'True'),
        ],
        initContainerStatuses: [
          {
            name: 'migrate',
            ready: false,
            restartCount: 3,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message:
                  'back-off 40s restarting failed container=migrate pod=api-7c5b9d8f6d-x2k9p_shop(0b1e)',
              },
            },
            lastState: { terminated: { exitCode: 2, reason: 'Error', finishedAt: '2025-06-01T11:59:30Z' } },
          },
        ],
        containerStatuses: [
          { name: 'api', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
        ],
      }),
      status: 'Degraded',
      reason: 'CrashLoopBackOff',
      message: /^init container migrate: CrashLoopBackOff after exit code 2 \(Error\)/,
    },
    {
      name: 'running unready between crash back-offs stays Degraded',
      obj: pod({
        ...crashLoop,
        containerStatuses: [
          {
            ...crashLoop.containerStatuses[0],
            started: true,
            state: { running: { startedAt: '2025-06-01T11:59:55Z' } },
            lastState: {
              terminated: { exitCode: 1, reason: 'Error', finishedAt: '2025-06-01T11:57:12Z' },
            },
          },
        ],
      }),
      status: 'Degraded',
      reason: 'ContainerRestarted',
      message: 'container api restarted 5 times after exit code 1 (Error) and is not ready',
    },
    {
      name: 'an old restart with a briefly unready container is Progressing',
      obj: pod({
        ...crashLoop,
        containerStatuses: [
          {
            ...crashLoop.containerStatuses[0],
            restartCount: 1,
            state: { running: { startedAt: '2025-05-30T08:00:00Z' } },
            lastState: {
              terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: '2025-05-30T07:59:58Z' },
            },
          },
        ],
      }),
      status: 'Progressing',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [api]',
    },
    {
      name: 'starting container not yet ready is Progressing',
      obj: pod({
        ...runningReady,
        conditions: notReadyConditions,
        containerStatuses: [
          { ...runningReady.containerStatuses[0], ready: false, started: true, lastState: {} },
        ],
      }),
      status: 'Progressing',
      reason: 'ContainersNotReady',
    },
    {
      name: 'Pending and Unschedulable is Progressing with the scheduler message',
      obj: pod({
        phase: 'Pending',
        qosClass: 'Burstable',
        conditions: [
          cond('PodScheduled', 'False', {
            reason: 'Unschedulable',
            message:
              '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
          }),
        ],
      }),
      status: 'Progressing',
      reason: 'Unschedulable',
      message: /^unschedulable: 0\/3 nodes are available: 3 Insufficient cpu/,
    },
    {
      name: 'Pending while the image is pulled is Progressing',
      obj: pod({
        phase: 'Pending',
        conditions: [cond('PodScheduled', 'True')],
        containerStatuses: [
          { name: 'api', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
        ],
      }),
      status: 'Progressing',
      reason: 'PodPending',
      message: 'container api: ContainerCreating',
    },
    {
      name: 'Pending with an init container running',
      obj: pod({
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'migrate',
            ready: false,
            restartCount: 0,
            state: { running: { startedAt: '2025-06-01T11:59:50Z' } },
          },
        ],
        containerStatuses: [
          { name: 'api', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
        ],
      }),
      status: 'Progressing',
      reason: 'PodPending',
      message: 'init container migrate is running',
    },
    {
      name: 'Succeeded is Healthy',
      obj: pod(
        {
          phase: 'Succeeded',
          containerStatuses: [
            {
              name: 'api',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: '2025-06-01T11:58:00Z' } },
            },
          ],
        },
        { restartPolicy: 'Never' },
      ),
      status: 'Healthy',
      reason: 'PodSucceeded',
    },
    {
      name: 'Failed with OOMKilled container is Degraded',
      obj: pod(
        {
          phase: 'Failed',
          containerStatuses: [
            {
              name: 'api',
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode: 137,
                  reason: 'OOMKilled',
                  startedAt: '2025-06-01T11:57:00Z',
                  finishedAt: '2025-06-01T11:58:00Z',
                },
              },
            },
          ],
        },
        { restartPolicy: 'Never' },
      ),
      status: 'Degraded',
      reason: 'OOMKilled',
      message: 'container api terminated with exit code 137 (OOMKilled)',
    },
    {
      name: 'Evicted is Degraded with the kubelet message',
      obj: pod({
        phase: 'Failed',
        reason: 'Evicted',
        message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.',
      }),
      status: 'Degraded',
      reason: 'Evicted',
      message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.',
    },
    {
      name: 'phase Unknown is Unknown',
      obj: pod({ phase: 'Unknown' }),
      status: 'Unknown',
      reason: 'PhaseUnknown',
    },
    {
      name: 'long messages are capped at 200 characters',
      obj: pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImagePull', message: 'x'.repeat(1000) } },
          },
        ],
      }),
      status: 'Degraded',
      reason: 'ErrImagePull',
      message: /^.{199}…$/,
    },
    {
      name: 'captured: ready Pod on the kwok node is Healthy',
      ...captured('pod-ready.json'),
      status: 'Healthy',
      reason: 'PodReady',
      message: '1/1 containers ready',
    },
    {
      name: 'captured: Pod no node can take is Progressing',
      ...captured('pod-unschedulable.json'),
      status: 'Progressing',
      reason: 'Unschedulable',
      message: /^unschedulable: 0\/1 nodes are available/,
    },
  ]);
});

function service(
  spec: Record<string, unknown>,
  status: Record<string, unknown> = { loadBalancer: {} },
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api', namespace: 'shop' },
    spec: { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
    status,
  };
}

void describe('serviceHealth', () => {
  runTable(serviceHealth, [
    {
      name: 'ClusterIP is Healthy',
      obj: service({ type: 'ClusterIP', clusterIP: '10.96.14.2' }),
      status: 'Healthy',
      reason: 'ServiceReady',
      message: 'ClusterIP service',
    },
    {
      name: 'type defaults to ClusterIP',
      obj: service({ clusterIP: '10.96.14.2' }),
      status: 'Healthy',
      reason: 'ServiceReady',
    },
    {
      name: 'LoadBalancer without address is Progressing',
      obj: service({ type: 'LoadBalancer', clusterIP: '10.96.14.2' }),
      status: 'Progressing',
      reason: 'WaitingForLoadBalancer',
      message: 'waiting for load balancer address',
    },
    {
      // Issue 29: the old expectation (Progressing) waited forever on a shape real clouds write.
      name: 'LoadBalancer with an ingress entry lacking ip and hostname is provisioned',
      obj: service(
        { type: 'LoadBalancer' },
        { loadBalancer: { ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }] } },
      ),
      status: 'Healthy',
      reason: 'LoadBalancerReady',
      message: 'load balancer provisioned (it reports no ip or hostname)',
    },
    {
      name: 'LoadBalancer with an IP is Healthy',
      obj: service(
        { type: 'LoadBalancer' },
        { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } },
      ),
      status: 'Healthy',
      reason: 'LoadBalancerReady',
      message: 'load balancer at 203.0.113.10',
    },
    {
      name: 'LoadBalancer with a hostname is Healthy',
      obj: service(
        { type: 'LoadBalancer' },
        { loadBalancer: { ingress: [{ hostname: 'a1b2.elb.eu-west-1.amazonaws.com' }] } },
      ),
      status: 'Healthy',
      reason: 'LoadBalancerReady',
    },
  ]);
});

function pvc(phase: string, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'shop', annotations },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '10Gi' } },
      storageClassName: 'standard',
      volumeMode: 'Filesystem',
      ...(phase === 'Pending' ? {} : { volumeName: 'pvc-3f9c1d2e' }),
    },
    status:
      phase === 'Bound'
        ? { phase, accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } }
        : { phase },
  };
}

void describe('persistentVolumeClaimHealth', () => {
  runTable(persistentVolumeClaimHealth, [
    {
      name: 'Bound is Healthy',
      obj: pvc('Bound', { 'pv.kubernetes.io/bind-completed': 'yes' }),
      status: 'Healthy',
      reason: 'Bound',
      message: 'bound to volume pvc-3f9c1d2e (10Gi)',
    },
    {
      name: 'Lost is Degraded',
      obj: pvc('Lost'),
      status: 'Degraded',
      reason: 'ClaimLost',
    },
    {
      name: 'Pending without a selected node mentions WaitForFirstConsumer',
      obj: pvc('Pending'),
      status: 'Progressing',
      reason: 'WaitingForVolume',
      message: /WaitForFirstConsumer/,
    },
    {
      name: 'Pending with a selected node is provisioning',
      obj: pvc('Pending', {
        'volume.kubernetes.io/selected-node': 'worker-2',
        'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com',
      }),
      status: 'Progressing',
      reason: 'Provisioning',
      message: 'provisioning a volume for node worker-2',
    },
  ]);
});

void describe('namespaceHealth', () => {
  runTable(namespaceHealth, [
    {
      name: 'Active is Healthy',
      obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' }, status: { phase: 'Active' } },
      status: 'Healthy',
      reason: 'Active',
    },
    {
      name: 'Terminating is Progressing and names what remains',
      obj: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'shop' },
        status: {
          phase: 'Terminating',
          conditions: [
            {
              type: 'NamespaceContentRemaining',
              status: 'True',
              reason: 'SomeResourcesRemain',
              message: 'Some resources are remaining: pods. has 2 resource instances',
              lastTransitionTime: '2025-06-01T11:59:00Z',
            },
          ],
        },
      },
      status: 'Progressing',
      reason: 'Terminating',
      message: 'namespace is terminating: Some resources are remaining: pods. has 2 resource instances',
    },
  ]);
});
