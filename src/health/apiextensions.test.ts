import { describe } from 'node:test';
import type { KubeObject } from '../api/object.ts';
import { customResourceDefinitionHealth } from './apiextensions.ts';
import { runTable } from '../../test/support/health-table.ts';

function crd(conditions: unknown[] | undefined): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com', generation: 1 },
    spec: {
      group: 'example.com',
      names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
      scope: 'Namespaced',
      versions: [
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
    },
    status: {
      acceptedNames: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
      storedVersions: ['v1'],
      ...(conditions ? { conditions } : {}),
    },
  };
}

const c = (type: string, status: string, reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2025-06-01T11:00:00Z',
});

void describe('customResourceDefinitionHealth', () => {
  runTable(customResourceDefinitionHealth, [
    {
      name: 'established is Healthy',
      obj: crd([
        c('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
        c('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted'),
      ]),
      status: 'Healthy',
      reason: 'Established',
    },
    {
      name: 'installing is Progressing',
      obj: crd([
        c('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
        c('Established', 'False', 'Installing', 'the initial names have been accepted'),
      ]),
      status: 'Progressing',
      reason: 'Installing',
    },
    {
      name: 'no conditions yet is Progressing',
      obj: crd(undefined),
      status: 'Progressing',
      reason: 'Installing',
      message: 'waiting for the API server to establish the kind',
    },
    {
      name: 'name conflict is Degraded',
      obj: crd([
        c('NamesAccepted', 'False', 'PluralConflict', '"widgets" is already in use'),
        c('Established', 'False', 'NotAccepted', 'not all names are accepted'),
      ]),
      status: 'Degraded',
      reason: 'PluralConflict',
      message: '"widgets" is already in use',
    },
    {
      name: 'Established=False for another reason is Degraded',
      obj: crd([
        c('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
        c('Established', 'False', 'NotAccepted', 'not all names are accepted'),
      ]),
      status: 'Degraded',
      reason: 'NotAccepted',
    },
  ]);
});
