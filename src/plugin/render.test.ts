import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, renderGet, renderTree, summarize, treeJson, type ReleaseSummary } from './render.ts';
import { colorEnabled, palette, stripAnsi } from './style.ts';
import { ageSince, humanAge, renderTable } from './table.ts';
import { healthCounts, releaseView, type ReleaseView } from './view.ts';

const NOW = Date.parse('2026-05-01T12:00:00Z');

/** release builds a Release as the API server returns it; `extra` adds issue 15's optional status fields. */
function release(name: string, resources: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: {
      name,
      namespace: 'acme',
      uid: 'u-1',
      generation: 2,
      creationTimestamp: '2026-05-01T11:55:00Z',
    },
    spec: { owner: { projectName: 'p', componentName: 'c' }, environmentName: 'prod' },
    status: {
      observedGeneration: 2,
      conditions: [
        { type: 'ResourcesApplied', status: 'True', reason: 'Applied', message: '', lastTransitionTime: '' },
        {
          type: 'Ready',
          status: 'False',
          reason: 'Progressing',
          message: 'Deployment web is progressing',
          lastTransitionTime: '',
        },
      ],
      resources,
      ...extra,
    },
  };
}

const deployment = {
  id: 'web',
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  namespace: 'shop',
  name: 'web',
  healthStatus: 'Progressing',
  healthReason: 'Rollout',
  message: 'Waiting for rollout:\n1 of 3 updated',
};
const service = {
  id: 'svc',
  group: '',
  version: 'v1',
  kind: 'Service',
  namespace: 'shop',
  name: 'web',
  healthStatus: 'Healthy',
};
const config = {
  id: 'cfg',
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  namespace: 'shop',
  name: 'cfg',
  healthStatus: 'Healthy',
};

test('humanAge matches kubectl AGE', () => {
  const cases: Array<[number, string]> = [
    [-5000, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [59_000, '59s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3600_000, '3h'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [47 * 3600_000, '47h'],
    [50 * 3600_000, '2d2h'],
    [10 * 86400_000, '10d'],
    [800 * 86400_000, '2y70d'],
    [9 * 365 * 86400_000, '9y'],
  ];
  for (const [ms, age] of cases) assert.equal(humanAge(ms), age, `${ms} ms`);
  assert.equal(ageSince(undefined, NOW), '<unknown>');
  assert.equal(ageSince('2026-05-01T11:59:30Z', NOW), '30s');
});

test('renderTable pads to the widest cell, measures coloured cells by their text, leaves no trailing spaces', () => {
  const colors = palette(true);
  const text = renderTable(
    ['NAME', 'READY', 'AGE'],
    [
      ['a', { text: 'True', style: colors.ready('True') }, '5m'],
      ['longer-name', 'False', ''],
    ],
  );
  assert.equal(stripAnsi(text), 'NAME          READY   AGE\na             True    5m\nlonger-name   False\n');
  assert.ok(text.includes('\u001b[32mTrue\u001b[0m    5m'), 'True is green, padded after the colour');
});

test('colorEnabled: a terminal gets colour unless NO_COLOR or TERM=dumb; --color overrides', () => {
  assert.equal(colorEnabled('auto', true, {}), true);
  assert.equal(colorEnabled('auto', false, {}), false);
  assert.equal(colorEnabled('auto', true, { NO_COLOR: '1' }), false);
  assert.equal(
    colorEnabled('auto', true, { NO_COLOR: '' }),
    true,
    'an empty NO_COLOR does not count (no-color.org)',
  );
  assert.equal(colorEnabled('auto', true, { TERM: 'dumb' }), false);
  assert.equal(colorEnabled('always', false, { NO_COLOR: '1' }), true);
  assert.equal(colorEnabled('never', true, {}), false);
  assert.equal(palette(false).health('Healthy')('x'), 'x');
  assert.equal(palette(true).health('Degraded')('x'), '\u001b[31mx\u001b[0m');
});

test('get: Ready, resources by health, drifted count and age, with a NAMESPACE column under -A', () => {
  const drifted = { ...config, drift: { fields: [{ path: '/data/key', manager: 'kubectl-edit' }] } };
  const views = [release('web', [deployment, service, drifted]), release('empty', [])].map(releaseView);
  assert.equal(
    renderGet(views, { allNamespaces: false, now: NOW, palette: palette(false) }),
    [
      'NAME    READY   REASON        RESOURCES                  DRIFTED   AGE',
      'web     False   Progressing   2 Healthy, 1 Progressing   1         5m',
      'empty   False   Progressing   0                          0         5m',
      '',
    ].join('\n'),
  );
  const all = renderGet(views, { allNamespaces: true, now: NOW, palette: palette(false) });
  assert.match(all, /^NAMESPACE {3}NAME/);
  assert.match(all, /\nacme {8}web/);
  assert.deepEqual(summarize(views[0]!).resources, { Progressing: 1, Healthy: 2 });
  assert.equal((JSON.parse(getJson(views)) as ReleaseSummary[])[0]?.drifted, 1);
  assert.equal(healthCounts([]), '0');
});

test('get: a Release with no status yet, and a Release being deleted', () => {
  const fresh = releaseView({ metadata: { name: 'new', namespace: 'acme' }, spec: {} });
  const deleting = releaseView({
    ...release('old', [service]),
    metadata: { ...release('old', []).metadata, deletionTimestamp: 'x' },
  });
  const text = renderGet([fresh, deleting], { allNamespaces: false, now: NOW, palette: palette(false) });
  assert.match(text, /\nnew {4}Unknown {14}0 {11}0 {9}<unknown>\n/);
  assert.match(text, /\nold {4}False {5}Deleting {3}1 Healthy/);
});

test('tree without the optional fields: every resource with kind, namespace/name, id, health, reason, message on one line', () => {
  const text = renderTree(releaseView(release('web', [deployment, service])), palette(false));
  assert.equal(
    text,
    [
      'RESOURCE                 ID    HEALTH        REASON        MESSAGE',
      'Release acme/web               Ready=False   Progressing   Deployment web is progressing',
      '├─ Deployment shop/web   web   Progressing   Rollout       Waiting for rollout: 1 of 3 updated',
      '└─ Service shop/web      svc   Healthy',
      '',
    ].join('\n'),
  );
  assert.ok(!text.includes('\u001b['), 'no escape codes when colours are off');
});

test('tree with drift, plan, policy, planned deletions and retained objects (issue 15 status fields)', () => {
  const view = releaseView(
    release(
      'web',
      [
        {
          ...deployment,
          drift: {
            fields: [{ path: '/spec/replicas', manager: 'kubectl-scale' }, { path: '/metadata/labels/x' }],
          },
          plan: { action: 'Update', fields: ['/spec/template/spec/containers/0/image'] },
          policy: { ignoreFields: ['/spec/replicas'] },
        },
        {
          ...service,
          drift: { fields: [], deleted: true },
          plan: { action: 'Error', message: 'admission webhook "x" denied' },
        },
        { ...config, plan: { action: 'Create' }, policy: { apply: 'CreateOnly', prune: 'Disabled' } },
      ],
      {
        plannedDeletions: [
          { id: 'old', group: '', version: 'v1', kind: 'Secret', namespace: 'shop', name: 'old' },
        ],
        retained: [
          {
            group: '',
            version: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace: 'shop',
            name: 'data',
            reason: 'prune: Disabled',
          },
        ],
      },
    ),
  );
  const text = renderTree(view, palette(false));
  assert.equal(
    text,
    [
      'RESOURCE                             ID    HEALTH        REASON            MESSAGE',
      'Release acme/web                           Ready=False   Progressing       Deployment web is progressing',
      '├─ Deployment shop/web               web   Progressing   Rollout           Waiting for rollout: 1 of 3 updated',
      '│  ├─ drift: /spec/replicas (by kubectl-scale), /metadata/labels/x',
      '│  ├─ plan: Update /spec/template/spec/containers/0/image',
      '│  └─ policy: ignore /spec/replicas',
      '├─ Service shop/web                  svc   Healthy',
      '│  ├─ drift: deleted by someone else',
      '│  └─ plan: Error: admission webhook "x" denied',
      '├─ ConfigMap shop/cfg                cfg   Healthy',
      '│  ├─ plan: Create',
      '│  └─ policy: apply CreateOnly; prune Disabled',
      '├─ Secret shop/old                   old   Delete        PlannedDeletion   a real apply would prune it',
      '└─ PersistentVolumeClaim shop/data         Retained      PruneDisabled     prune: Disabled',
      '',
    ].join('\n'),
  );
  const json = JSON.parse(treeJson(view)) as ReleaseView;
  assert.deepEqual(json.resources[0]?.drift?.fields[0], { path: '/spec/replicas', manager: 'kubectl-scale' });
  assert.equal(json.resources[1]?.plan?.action, 'Error');
  assert.equal(json.plannedDeletions[0]?.name, 'old');
  assert.equal(json.resources[2]?.drift, undefined, 'absent fields stay absent');
});

test('tree in colour: health colours on the HEALTH column, drift in yellow, same text once stripped', () => {
  const view = releaseView(
    release('web', [
      deployment,
      { ...service, healthStatus: 'Degraded' },
      { ...config, drift: { fields: [{ path: '/data' }] } },
    ]),
  );
  const coloured = renderTree(view, palette(true));
  assert.ok(coloured.includes('\u001b[33mProgressing\u001b[0m'), 'Progressing is yellow');
  assert.ok(coloured.includes('\u001b[31mDegraded\u001b[0m'), 'Degraded is red');
  assert.ok(coloured.includes('\u001b[32mHealthy\u001b[0m'), 'Healthy is green');
  assert.ok(coloured.includes('\u001b[31mReady=False\u001b[0m'), 'Ready=False is red');
  assert.ok(coloured.includes('\u001b[33mdrift: /data\u001b[0m'), 'drift is yellow');
  assert.equal(stripAnsi(coloured), renderTree(view, palette(false)));
});

test('tree: a failed ResourcesApplied, a stale status and a deletion are said under the Release', () => {
  const raw = release('web', []);
  raw.status.conditions[0] = {
    type: 'ResourcesApplied',
    status: 'False',
    reason: 'DataPlaneUnreachable',
    message: 'cannot reach',
    lastTransitionTime: '',
  };
  raw.status.observedGeneration = 1;
  const text = renderTree(
    releaseView({ ...raw, metadata: { ...raw.metadata, deletionTimestamp: 'x' } }),
    palette(false),
  );
  assert.match(text, /\n {3}ResourcesApplied=False DataPlaneUnreachable: cannot reach\n/);
  assert.match(text, /older generation/);
  assert.match(text, /being deleted/);
});

test('releaseView ignores malformed optional fields rather than trusting them', () => {
  const view = releaseView(
    release(
      'web',
      [
        { ...service, drift: 'yes', plan: { action: 3 }, policy: null },
        'not an object' as unknown as Record<string, unknown>,
      ],
      { retained: 'x' },
    ),
  );
  assert.equal(view.resources.length, 1);
  assert.equal(view.resources[0]?.drift, undefined);
  assert.equal(view.resources[0]?.plan, undefined);
  assert.equal(view.resources[0]?.policy, undefined);
  assert.deepEqual(view.retained, []);
  assert.equal(releaseView(null).name, '');
});

test('get: a status of an older generation is marked stale; -o wide adds environment, generation and mode', () => {
  const stale = release('web', [deployment]);
  stale.metadata.generation = 3;
  const suspended = release('held', [service]);
  (suspended.metadata as Record<string, unknown>)['annotations'] = {
    'openchoreo.dev/suspend': 'true',
    'openchoreo.dev/drift': 'Report',
  };
  const views = [stale, suspended].map(releaseView);
  assert.equal(views[0]?.stale, true);
  assert.equal(summarize(views[0]).stale, true);
  const text = renderGet(views, { allNamespaces: false, now: NOW, palette: palette(false), wide: true });
  assert.equal(
    text,
    [
      'NAME   READY   REASON                RESOURCES       DRIFTED   AGE   ENVIRONMENT   GENERATION   MODE',
      'web    False   Progressing (stale)   1 Progressing   0         5m    prod          2/3          -',
      'held   False   Progressing           1 Healthy       0         5m    prod          2/2          Suspended,DriftReport',
      '',
    ].join('\n'),
  );
  const rowsOnly = renderGet(views, {
    allNamespaces: false,
    now: NOW,
    palette: palette(false),
    header: false,
  });
  assert.ok(rowsOnly.startsWith('web '), rowsOnly);
});
