// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * layerRules forbids, for each source folder, imports from the folders above it (and any named
 * imports listed for it), so the layering cannot silently rot.
 * @param {[string, string[], { name: string, importNames: string[], message: string }[]?][]} layers
 */
function layerRules(layers) {
  return layers.map(([folder, forbidden, paths = []]) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths,
          patterns: forbidden.map((above) => ({
            group: [`**/${above}/**`, `../${above}/*`, `../../${above}/*`],
            message: `src/${folder} sits below src/${above} (docs/architecture.md, "Layers"): move the shared piece down instead.`,
          })),
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'charts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // Node's assert builds the message of a bare assert.ok(x) by re-parsing the test's source,
    // which for TypeScript files can block the event loop for tens of seconds: always say why.
    files: ['**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.object.name='assert'][callee.property.name='ok'][arguments.length<2]",
          message:
            'Give assert.ok a message (a bare assert.ok re-parses the TypeScript source and can stall for seconds).',
        },
        {
          selector: "CallExpression[callee.name='assert'][arguments.length<2]",
          message:
            'Give assert a message (a bare assert re-parses the TypeScript source and can stall for seconds).',
        },
      ],
    },
  },
  // Layers (docs/architecture.md): each folder imports only from the folders before it,
  // api <- kube <- runtime <- health <- dataplane <- ssa <- controller <- cli/main, plugin
  // (the kubectl plugin sits beside cli: both at the top, neither imports the other).
  ...layerRules([
    ['api', ['kube', 'runtime', 'health', 'dataplane', 'ssa', 'controller', 'cli', 'plugin']],
    ['kube', ['runtime', 'health', 'dataplane', 'ssa', 'controller', 'cli', 'plugin']],
    ['runtime', ['health', 'dataplane', 'ssa', 'controller', 'cli', 'plugin']],
    ['health', ['kube', 'runtime', 'dataplane', 'ssa', 'controller', 'cli', 'plugin']],
    ['dataplane', ['ssa', 'controller', 'cli', 'plugin']],
    [
      'ssa',
      ['controller', 'cli', 'plugin'],
      [
        {
          name: '../dataplane/port.ts',
          importNames: ['DataPlanePort', 'DataPlaneInventory'],
          message:
            "the apply library sees only the objects half of the data-plane port (DataPlaneObjects, docs/architecture.md): the inventory is the controller's.",
        },
      ],
    ],
    ['controller', ['cli', 'plugin']],
    ['cli', ['plugin']],
    ['plugin', ['cli']],
  ]),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The web view of `kubectl release ui` runs in the browser, as plain ES modules.
    files: ['src/plugin/ui/static/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'EventSource',
          'requestAnimationFrame',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
          'performance',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
