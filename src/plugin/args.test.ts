import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseTimeout, UsageError } from './args.ts';

test('parseArgs reads kubectl spellings of the flags', () => {
  assert.deepEqual(parseArgs(['get', '-A']), {
    command: 'get',
    allNamespaces: true,
    output: 'text',
    color: 'auto',
    namespace: undefined,
    kubeconfig: undefined,
    context: undefined,
    file: undefined,
    selector: undefined,
    name: undefined,
  });
  const tree = parseArgs([
    'tree',
    'web',
    '-n',
    'acme',
    '--kubeconfig=/k',
    '--context',
    'ctx',
    '-o',
    'json',
    '--color=always',
  ]);
  assert.equal(tree.command, 'tree');
  assert.equal(tree.name, 'web');
  assert.equal(tree.namespace, 'acme');
  assert.equal(tree.kubeconfig, '/k');
  assert.equal(tree.context, 'ctx');
  assert.equal(tree.output, 'json');
  assert.equal(tree.color, 'always');
  assert.equal(parseArgs(['diff', '-f', '-']).file, '-');
  assert.equal(parseArgs(['--namespace=x', 'events', 'r']).namespace, 'x');
  assert.equal(parseArgs([]).command, 'help');
  assert.equal(parseArgs(['tree', 'x', '--help']).command, 'help');
  const ui = parseArgs(['ui', '-A', '--port', '8999', '--no-open']);
  assert.deepEqual([ui.command, ui.allNamespaces, ui.port, ui.open], ['ui', true, 8999, false]);
  assert.equal(parseArgs(['ui', '-n', 'acme']).open, undefined, 'opens the browser by default');
});

test('parseArgs refuses what it does not understand, saying what', () => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['get', '--bogus'], /unknown flag --bogus/],
    [['tree'], /tree needs exactly one Release name/],
    [['events', 'a', 'b'], /events needs exactly one Release name/],
    [['diff'], /diff needs -f FILE/],
    [['get', '-n'], /flag -n needs a value/],
    [['get', '-o', 'table'], /get -o table is not supported \(one of json, yaml, wide, name, summary-json\)/],
    [['tree', 'x', '-o', 'wide'], /tree -o wide is not supported/],
    [['suspend', 'x', '-o', 'json'], /suspend does not take -o/],
    [['get', 'a', 'b'], /get takes at most one Release name/],
    [['get', 'a', '-A'], /get NAME takes neither -A nor -l/],
    [['get', 'a', '-l', 'x=y'], /get NAME takes neither -A nor -l/],
    [['tree', 'x', '-l', 'a=b'], /-l works with get only/],
    [['events', 'x', '-w'], /-w works with get and tree only/],
    [['get', '-w', '-o', 'json'], /-w prints tables; it does not take -o json/],
    [['wait', 'x', '--for=delete'], /--for must be condition=TYPE/],
    [['wait', 'x', '--for=condition=Ready=maybe'], /the status must be True, False or Unknown/],
    [['wait', 'x', '--timeout=soon'], /--timeout must be a duration/],
    [['get', '--for=condition=Ready'], /--for works with wait only/],
    [['suspend', 'x', '--timeout=1s'], /--timeout works with wait and reconcile only/],
    [['reconcile'], /reconcile needs exactly one Release name/],
    [['resume', 'a', 'b'], /resume needs exactly one Release name/],
    [['version', 'x'], /version takes no argument/],
    [['get', '--color=sometimes'], /--color must be auto, always or never/],
    [['tree', 'x', '-A'], /-A works with get and ui only/],
    [['ui', '--port', 'http'], /--port must be a port number/],
    [['ui', '--port=70000'], /--port must be a port number/],
    [['ui', 'shop'], /ui takes no name/],
    [['get', '--no-open'], /--port and --no-open work with ui only/],
    [['get', '-A', '-n', 'x'], /either -n or -A/],
    [['diff', '-f', 'x', '-o', 'json'], /diff does not take -o/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
      argv.join(' '),
    );
  }
});

test('parseArgs reads the kubectl habits: get NAME, -o formats, -l, -w, wait, reconcile, suspend, resume, version', () => {
  const one = parseArgs(['get', 'web', '-o', 'yaml']);
  assert.deepEqual([one.command, one.name, one.output], ['get', 'web', 'yaml']);
  assert.equal(parseArgs(['get', '-ojson']).output, 'json', 'a short flag with its value attached');
  assert.equal(parseArgs(['get', '-nacme']).namespace, 'acme');
  for (const format of ['json', 'yaml', 'wide', 'name', 'summary-json'] as const)
    assert.equal(parseArgs(['get', `--output=${format}`]).output, format);
  assert.equal(parseArgs(['tree', 'web', '-o', 'yaml']).output, 'yaml');
  const watched = parseArgs(['get', '-l', 'app=web,tier!=db', '--watch', '-o', 'wide']);
  assert.deepEqual([watched.selector, watched.watch, watched.output], ['app=web,tier!=db', true, 'wide']);
  assert.equal(parseArgs(['get', '-lapp=web']).selector, 'app=web');
  assert.equal(parseArgs(['tree', 'web', '-w']).watch, true);
  const wait = parseArgs(['wait', 'web']);
  assert.deepEqual(
    [wait.name, wait.waitFor, wait.timeoutMs],
    ['web', { condition: 'Ready', status: 'True' }, 30_000],
  );
  const waitFalse = parseArgs([
    'wait',
    'web',
    '--for=condition=ResourcesApplied=false',
    '--timeout',
    '1m30s',
  ]);
  assert.deepEqual(
    [waitFalse.waitFor, waitFalse.timeoutMs],
    [{ condition: 'ResourcesApplied', status: 'False' }, 90_000],
  );
  assert.equal(parseArgs(['reconcile', 'web']).timeoutMs, 60_000);
  assert.equal(parseArgs(['reconcile', 'web', '--timeout=0']).timeoutMs, 0);
  assert.equal(parseArgs(['suspend', 'web']).name, 'web');
  assert.equal(parseArgs(['resume', 'web', '-n', 'acme']).namespace, 'acme');
  assert.equal(parseArgs(['version']).command, 'version');
  assert.deepEqual(parseArgs(['__complete', 'get', '']).words, ['get', '']);
});

test('parseTimeout reads Go durations as kubectl --timeout does', () => {
  assert.equal(parseTimeout('0'), 0);
  assert.equal(parseTimeout('500ms'), 500);
  assert.equal(parseTimeout('2m'), 120_000);
  assert.equal(parseTimeout('1h1s'), 3_601_000);
  assert.throws(() => parseTimeout('10'), UsageError);
});
