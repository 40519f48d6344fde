import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeExtraKey, impersonationHeaders } from './impersonation.ts';

test('escapeExtraKey keeps header token characters and percent-encodes the rest byte by byte', () => {
  assert.equal(escapeExtraKey('scopes'), 'scopes');
  assert.equal(escapeExtraKey("Acme.dev_x-y!#$&'*+^`|~"), "Acme.dev_x-y!#$&'*+^`|~");
  assert.equal(escapeExtraKey('acme.dev/team'), 'acme.dev%2Fteam');
  assert.equal(escapeExtraKey('a b:c=d'), 'a%20b%3Ac%3Dd');
  // A literal % is encoded as well, or the server's decoding of the key would fail.
  assert.equal(escapeExtraKey('100%'), '100%25');
  assert.equal(escapeExtraKey('é'), '%C3%A9');
  assert.equal(decodeURIComponent(escapeExtraKey('acme.dev/tëam 100%')), 'acme.dev/tëam 100%');
});

test('impersonationHeaders sends one header per group and per extra value', () => {
  assert.deepEqual(impersonationHeaders({ user: 'jane' }), { 'Impersonate-User': 'jane' });
  assert.deepEqual(
    impersonationHeaders({
      user: 'jane',
      uid: '42',
      groups: ['dev', 'ops'],
      extra: { 'acme.dev/team': ['a', 'b'], empty: [] },
    }),
    {
      'Impersonate-User': 'jane',
      'Impersonate-Uid': '42',
      'Impersonate-Group': ['dev', 'ops'],
      'Impersonate-Extra-acme.dev%2Fteam': ['a', 'b'],
    },
  );
});
