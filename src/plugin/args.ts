/**
 * The command line of `kubectl release`: the command, its argument and kubectl's own flag
 * spellings (`-n NS`, `--namespace=NS`, `-A`, `--kubeconfig`, `--context`, `-o json`, `-f FILE`),
 * so that a kubectl user's fingers work. Pure: argv in, a parsed command or a UsageError out.
 */

/** Command names the four commands of the plugin, and help. */
export type Command = 'get' | 'tree' | 'events' | 'diff' | 'ui' | 'help';

/** ColorMode is the `--color` flag: `auto` colours only a terminal (and not under NO_COLOR). */
export type ColorMode = 'auto' | 'always' | 'never';

/** PluginArgs is a parsed command line. */
export interface PluginArgs {
  command: Command;
  /** name is the Release of `tree` and `events`. */
  name?: string;
  /** namespace is `-n`; undefined means the kubeconfig context's namespace (else `default`). */
  namespace?: string;
  allNamespaces: boolean;
  kubeconfig?: string;
  context?: string;
  output: 'text' | 'json';
  color: ColorMode;
  /** file is `diff -f`; `-` reads standard input. */
  file?: string;
  /** port is `ui --port` (0: any free port). */
  port?: number;
  /** open is false with `ui --no-open`. */
  open?: boolean;
}

/** UsageError is a command line the plugin does not understand; main prints it with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** USAGE is what `kubectl release --help` prints. */
export const USAGE = `kubectl release: look at OpenChoreo Releases and preview them against their data plane.

Usage:
  kubectl release get [-n NAMESPACE | -A]        Releases: Ready, resources by health, drifted, age
  kubectl release tree NAME [-n NAMESPACE]       every resource: health, reason, message, drift, plan
  kubectl release events NAME [-n NAMESPACE]     the Release's Events, newest last
  kubectl release diff -f release.yaml           server-side dry run on the data plane, as a unified
                                                 diff per object (needs read access to the DataPlane's
                                                 credentials); exit code 0: no differences, 1:
                                                 differences, 2: error
  kubectl release ui [-n NAMESPACE | -A]         a live web view of the Releases on 127.0.0.1,
                     [--port N] [--no-open]      behind a token in the URL it prints

Flags:
  -n, --namespace NAME     namespace (default: the context's namespace, else "default")
  -A, --all-namespaces     get, ui: every namespace
  -o, --output json        tree, get, events: JSON for scripts
  -f, --filename FILE      diff: a file with one or more Releases ("-" reads standard input)
      --kubeconfig PATH    kubeconfig (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME       kubeconfig context (default: its current-context)
      --port N             ui: the local port (default: any free one)
      --no-open            ui: print the URL, do not open a browser
      --color WHEN         auto (a terminal, unless NO_COLOR is set), always or never
  -h, --help               this text
`;

const COMMANDS: readonly Command[] = ['get', 'tree', 'events', 'diff', 'ui', 'help'];

/** VALUE_FLAGS maps every spelling of a flag that takes a value to its field. */
const VALUE_FLAGS: Record<
  string,
  'namespace' | 'kubeconfig' | 'context' | 'output' | 'color' | 'file' | 'port'
> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--kubeconfig': 'kubeconfig',
  '--context': 'context',
  '-o': 'output',
  '--output': 'output',
  '--color': 'color',
  '-f': 'file',
  '--filename': 'file',
  '--port': 'port',
};

/** parseArgs parses the arguments after `kubectl release` (or `kubectl-release`). */
export function parseArgs(argv: readonly string[]): PluginArgs {
  const args: PluginArgs = { command: 'help', allNamespaces: false, output: 'text', color: 'auto' };
  const positional: string[] = [];
  const values: Partial<Record<(typeof VALUE_FLAGS)[string], string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') return { ...args, command: 'help' };
    if (arg === '--no-open') {
      args.open = false;
      continue;
    }
    if (arg === '-A' || arg === '--all-namespaces') {
      args.allNamespaces = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('-') && eq > 0 ? arg.slice(0, eq) : arg;
    const field = VALUE_FLAGS[flag];
    if (field) {
      const value = eq > 0 && arg.startsWith('-') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`flag ${flag} needs a value`);
      values[field] = value;
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${flag}`);
    positional.push(arg);
  }

  const [command, ...rest] = positional;
  if (command === undefined) return args;
  if (!COMMANDS.includes(command as Command)) {
    throw new UsageError(`unknown command "${command}" (one of get, tree, events, diff, ui)`);
  }
  args.command = command as Command;
  args.namespace = values.namespace;
  args.kubeconfig = values.kubeconfig;
  args.context = values.context;
  args.file = values.file;
  if (values.output !== undefined) {
    if (values.output !== 'json') throw new UsageError(`-o ${values.output} is not supported (only json)`);
    args.output = 'json';
  }
  if (values.color !== undefined) {
    if (!['auto', 'always', 'never'].includes(values.color)) {
      throw new UsageError(`--color must be auto, always or never, not "${values.color}"`);
    }
    args.color = values.color as ColorMode;
  }

  switch (args.command) {
    case 'get':
      if (rest.length > 0) throw new UsageError('get takes no name: it lists Releases (use tree NAME)');
      break;
    case 'tree':
    case 'events':
      if (rest.length !== 1) throw new UsageError(`${args.command} needs exactly one Release name`);
      args.name = rest[0];
      break;
    case 'diff':
      if (rest.length > 0) throw new UsageError('diff takes no name: give the Release file with -f');
      if (args.file === undefined)
        throw new UsageError('diff needs -f FILE (a Release manifest, or - for stdin)');
      break;
    case 'ui':
      if (rest.length > 0) throw new UsageError('ui takes no name: it shows every Release in scope');
      if (values.port !== undefined) {
        const port = Number(values.port);
        if (!/^\d+$/.test(values.port) || port > 65535)
          throw new UsageError(`--port must be a port number (0-65535), not "${values.port}"`);
        args.port = port;
      }
      break;
    case 'help':
      break;
  }
  if (args.allNamespaces && args.command !== 'get' && args.command !== 'ui')
    throw new UsageError(`-A works with get and ui only`);
  if ((values.port !== undefined || args.open === false) && args.command !== 'ui')
    throw new UsageError('--port and --no-open work with ui only');
  if (args.allNamespaces && args.namespace !== undefined)
    throw new UsageError('give either -n or -A, not both');
  if (args.file !== undefined && args.command !== 'diff') throw new UsageError('-f works with diff only');
  if (args.output === 'json' && args.command === 'diff')
    throw new UsageError('diff prints a unified diff; -o json is not supported');
  return args;
}
