import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError } from './args.ts';

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
    [['get', '-o', 'yaml'], /-o yaml is not supported/],
    [['get', '--color=sometimes'], /--color must be auto, always or never/],
    [['tree', 'x', '-A'], /-A works with get and ui only/],
    [['ui', '--port', 'http'], /--port must be a port number/],
    [['ui', '--port=70000'], /--port must be a port number/],
    [['ui', 'shop'], /ui takes no name/],
    [['get', '--no-open'], /--port and --no-open work with ui only/],
    [['get', '-A', '-n', 'x'], /either -n or -A/],
    [['diff', '-f', 'x', '-o', 'json'], /-o json is not supported/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
      argv.join(' '),
    );
  }
});
