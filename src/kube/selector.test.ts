import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/object.ts';
import { selectorMatcher } from './selector.ts';

const obj = (name: string, labels?: Record<string, string>, namespace = 'ns'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...(labels && { labels }) },
});

describe('selectorMatcher', () => {
  const cases: Array<[string, string | undefined, string | undefined, KubeObject, boolean]> = [
    ['no selector selects all', undefined, undefined, obj('a'), true],
    ['equality matches', 'app=web', undefined, obj('a', { app: 'web' }), true],
    ['double equals matches', 'app==web', undefined, obj('a', { app: 'web' }), true],
    ['equality rejects another value', 'app=web', undefined, obj('a', { app: 'db' }), false],
    ['equality rejects a missing label', 'app=web', undefined, obj('a'), false],
    ['inequality accepts a missing label', 'app!=web', undefined, obj('a'), true],
    ['inequality rejects the value', 'app!=web', undefined, obj('a', { app: 'web' }), false],
    ['in matches', 'tier in (a, b)', undefined, obj('a', { tier: 'b' }), true],
    ['notin rejects', 'tier notin (a,b)', undefined, obj('a', { tier: 'a' }), false],
    ['exists', 'tier', undefined, obj('a', { tier: '' }), true],
    ['absent', '!tier', undefined, obj('a', { tier: 'x' }), false],
    ['every term must hold', 'a=1,b in (2,3)', undefined, obj('x', { a: '1', b: '4' }), false],
    ['field by name', undefined, 'metadata.name=cm', obj('cm'), true],
    ['field by name rejects another', undefined, 'metadata.name=cm', obj('other'), false],
    ['field and label together', 'a=1', 'metadata.namespace=ns', obj('x', { a: '1' }), true],
    ['a prototype key is not a label', 'constructor', undefined, obj('a'), false],
    ['an unreadable selector selects nothing', 'a in b', undefined, obj('a', { a: 'b' }), false],
    ['set terms are not field terms', undefined, 'metadata.name in (a)', obj('a'), false],
  ];
  for (const [name, labels, fields, o, want] of cases) {
    test(name, () => assert.equal(selectorMatcher(labels, fields)(o), want));
  }
});
