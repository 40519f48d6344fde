/** The demo's Release table: rendering, change lines for logs, redrawing in place on a terminal. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LiveView, type Output } from '../../demo/display.ts';
import { changes, frame, renderView, viewOf, type ReleaseView } from '../../demo/table.ts';
import type { Release, ResourceStatus } from '../../src/api/v1alpha1/schema.ts';

const NAME = 'acme/customer-service-prod-release';

function resource(id: string, kind: string, healthStatus: ResourceStatus['healthStatus'], message?: string) {
  const entry: ResourceStatus = {
    id,
    group: kind === 'Deployment' ? 'apps' : '',
    version: 'v1',
    kind,
    name: 'customer-service',
    namespace: 'prod-data-plane',
    healthStatus,
    healthReason: `${healthStatus}Reason`,
  };
  if (message !== undefined) entry.message = message;
  return entry;
}

function release(
  resources: ResourceStatus[] | undefined,
  ready?: { status: 'True' | 'False'; reason: string; message: string },
  extra: { deleting?: boolean; generation?: number; observed?: number } = {},
): Release {
  const conditions = ready ? [{ type: 'Ready', lastTransitionTime: '2026-01-01T00:00:00Z', ...ready }] : [];
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: {
      name: 'customer-service-prod-release',
      namespace: 'acme',
      generation: extra.generation ?? 1,
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { owner: { projectName: 'p', componentName: 'c' }, environmentName: 'production' },
    status: {
      observedGeneration: extra.observed ?? 1,
      ...(resources ? { resources } : {}),
      conditions,
    },
  };
}

const progressing = release([resource('deployment', 'Deployment', 'Progressing', '3/5 replicas available')], {
  status: 'False',
  reason: 'Progressing',
  message: 'Deployment/prod-data-plane/customer-service: Progressing (3/5 replicas available)',
});

describe('renderView', () => {
  test('a missing Release is one line', () => {
    assert.deepEqual(renderView(viewOf(NAME, undefined)), [`Release ${NAME}: not found`]);
  });

  test('resources are aligned columns, followed by the Ready condition', () => {
    const view = viewOf(
      NAME,
      release(
        [
          resource('deployment', 'Deployment', 'Healthy', '5/5 replicas available'),
          resource('service', 'Service', 'Healthy'),
        ],
        { status: 'True', reason: 'Ready', message: 'all 2 resources are Healthy or Suspended' },
        { generation: 2, observed: 2 },
      ),
    );
    assert.deepEqual(renderView(view), [
      `Release ${NAME} (generation 2, observed 2)`,
      '  ID          KIND        NAMESPACE/NAME                    HEALTH   MESSAGE',
      '  deployment  Deployment  prod-data-plane/customer-service  Healthy  5/5 replicas available',
      // Without a message the health reason stands in.
      '  service     Service     prod-data-plane/customer-service  Healthy  HealthyReason',
      'Ready: True (Ready) all 2 resources are Healthy or Suspended',
    ]);
  });

  test('before the controller reports, the table says so', () => {
    const view = viewOf(NAME, { ...release(undefined), status: undefined });
    assert.deepEqual(renderView(view), [
      `Release ${NAME} (generation 1, observed -)`,
      '  (no status yet: waiting for the controller)',
      'Ready: -',
    ]);
  });

  test('a Release being deleted shows its Finalizing condition', () => {
    const r = release([], undefined, { deleting: true });
    r.status!.conditions = [
      {
        type: 'Finalizing',
        status: 'True',
        reason: 'CleanupInProgress',
        message: 'Cleaning up\ndataplane resources',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ];
    assert.deepEqual(renderView(viewOf(NAME, r)), [
      `Release ${NAME} (generation 1, observed 1) - being deleted`,
      '  (no resources)',
      'Ready: -',
      'Finalizing: True (CleanupInProgress) Cleaning up dataplane resources',
    ]);
  });

  test('lines are cut to the width so that a terminal never wraps them', () => {
    const lines = renderView(viewOf(NAME, progressing), 40);
    assert.ok(
      lines.every((l) => l.length <= 40),
      'expected lines.every((l) => l.length <= 40)',
    );
    assert.ok(
      lines.some((l) => l.endsWith('…')),
      'expected lines.some((l) => l.endsWith("…"))',
    );
  });
});

describe('changes', () => {
  const view = (r: Release | undefined): ReleaseView => viewOf(NAME, r);

  test('the first sight of a Release lists everything', () => {
    assert.deepEqual(changes(undefined, view(progressing)), [
      `Release ${NAME} exists`,
      'deployment: Deployment prod-data-plane/customer-service Progressing - 3/5 replicas available',
      'Ready: False (Progressing) Deployment/prod-data-plane/customer-service: Progressing (3/5 replicas available)',
    ]);
  });

  test('nothing changed, nothing to say; a missing Release seen first is silent', () => {
    assert.deepEqual(changes(view(progressing), view(structuredClone(progressing))), []);
    assert.deepEqual(changes(undefined, view(undefined)), []);
  });

  test('a health change is one line; Ready is logged on transitions, not on every new message', () => {
    const next = release([resource('deployment', 'Deployment', 'Progressing', '4/5 replicas available')], {
      status: 'False',
      reason: 'Progressing',
      message: 'Deployment/prod-data-plane/customer-service: Progressing (4/5 replicas available)',
    });
    assert.deepEqual(changes(view(progressing), view(next)), [
      'deployment: Deployment prod-data-plane/customer-service Progressing - 4/5 replicas available',
    ]);
    const healthy = release([resource('deployment', 'Deployment', 'Healthy', '5/5 replicas available')], {
      status: 'True',
      reason: 'Ready',
      message: 'all 1 resources are Healthy or Suspended',
    });
    assert.deepEqual(changes(view(next), view(healthy)), [
      'deployment: Deployment prod-data-plane/customer-service Healthy - 5/5 replicas available',
      'Ready: True (Ready) all 1 resources are Healthy or Suspended',
    ]);
  });

  test('removed resources, deletion and disappearance are reported', () => {
    const two = release([
      resource('deployment', 'Deployment', 'Healthy'),
      resource('service', 'Service', 'Healthy'),
    ]);
    const one = release([resource('deployment', 'Deployment', 'Healthy')]);
    assert.deepEqual(changes(view(two), view(one)), ['service: no longer in status']);
    const deleting = release([resource('deployment', 'Deployment', 'Healthy')], undefined, {
      deleting: true,
    });
    assert.deepEqual(changes(view(one), view(deleting)), [`Release ${NAME} is being deleted`]);
    assert.deepEqual(changes(view(deleting), view(undefined)), [`Release ${NAME} is gone`]);
  });
});

describe('frame', () => {
  test('the first frame clears below the cursor and writes the lines', () => {
    assert.equal(frame(0, ['a', 'b']), '\r\x1b[0Ja\nb\n');
  });

  test('a later frame first moves up over the previous one', () => {
    assert.equal(frame(3, ['x']), '\x1b[3A\r\x1b[0Jx\n');
    assert.equal(frame(2, []), '\x1b[2A\r\x1b[0J');
  });
});

describe('LiveView', () => {
  function output(isTTY: boolean): Output & { text: string } {
    return {
      isTTY,
      columns: 200,
      text: '',
      write(chunk: string) {
        this.text += chunk;
        return true;
      },
    };
  }

  test('without a terminal, changes become time-stamped lines and narration plain lines', () => {
    const out = output(false);
    const live = new LiveView(out);
    live.log('1. Scale');
    live.show(viewOf(NAME, progressing));
    live.show(viewOf(NAME, structuredClone(progressing)));
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines[0], '1. Scale');
    assert.equal(lines.length, 4, out.text);
    assert.match(lines[1]!, /^ {3}\[ +\d+\.\ds\] Release acme\/customer-service-prod-release exists$/);
    assert.ok(!out.text.includes('\x1b'), 'no escape sequences in a log');
  });

  test('on a terminal the table stays below the narration and is redrawn in place', () => {
    const out = output(true);
    const live = new LiveView(out);
    live.show(viewOf(NAME, progressing));
    const table = renderView(viewOf(NAME, progressing));
    assert.equal(out.text, frame(0, table));
    out.text = '';
    live.log('2. Delete');
    assert.equal(out.text, frame(table.length, []) + '2. Delete\n' + frame(0, table));
    out.text = '';
    live.show(viewOf(NAME, structuredClone(progressing)));
    assert.equal(out.text, '', 'an unchanged table is not redrawn');
    live.show(viewOf(NAME, undefined));
    assert.equal(out.text, frame(table.length, [`Release ${NAME}: not found`]));
    out.text = '';
    live.release();
    assert.equal(out.text, frame(1, []), 'release erases the table');
  });
});
