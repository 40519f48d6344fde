/**
 * The command line of `kubectl release`: the command, its argument and kubectl's own flag
 * spellings (`-n NS`, `--namespace=NS`, `-A`, `-l SELECTOR`, `-w`, `--kubeconfig`, `--context`,
 * `-o json|yaml|wide|name`, `-f FILE`, `--for`, `--timeout`), so that a kubectl user's fingers
 * work. Pure: argv in, a parsed command or a UsageError out.
 */

/** Command names the commands of the plugin, help, and `__complete` (shell completion). */
export type Command =
  | 'get'
  | 'tree'
  | 'events'
  | 'diff'
  | 'ui'
  | 'wait'
  | 'reconcile'
  | 'suspend'
  | 'resume'
  | 'version'
  | 'help'
  | '__complete';

/** ColorMode is the `--color` flag: `auto` colours only a terminal (and not under NO_COLOR). */
export type ColorMode = 'auto' | 'always' | 'never';

/**
 * OutputFormat is `-o`: `text` (the default table or tree), `json` and `yaml` (the API object for
 * get; the command's own view for tree and events), `wide` and `name` (get), `summary-json` (get:
 * the plugin's own summary per Release, as `-o json` printed before it meant the API object).
 */
export type OutputFormat = 'text' | 'json' | 'yaml' | 'wide' | 'name' | 'summary-json';

/** WaitFor is `wait --for=condition=TYPE[=VALUE]`. */
export interface WaitFor {
  condition: string;
  /** status is the condition status waited for (`True` unless given). */
  status: string;
}

/** PluginArgs is a parsed command line. */
export interface PluginArgs {
  command: Command;
  /** name is the Release of `tree`, `events`, `wait`, `reconcile`, `suspend`, `resume`, and optionally `get`. */
  name?: string;
  /** namespace is `-n`; undefined means the kubeconfig context's namespace (else `default`). */
  namespace?: string;
  allNamespaces: boolean;
  kubeconfig?: string;
  context?: string;
  output: OutputFormat;
  color: ColorMode;
  /** file is `diff -f`; `-` reads standard input. */
  file?: string;
  /** port is `ui --port` (0: any free port). */
  port?: number;
  /** open is false with `ui --no-open`. */
  open?: boolean;
  /** selector is `-l` (get): a label selector as kubectl takes it. */
  selector?: string;
  /** watch is `-w` (get, tree): keep printing changes until interrupted. */
  watch?: boolean;
  /** waitFor is `wait --for`. */
  waitFor?: WaitFor;
  /** timeoutMs is `--timeout` (wait, reconcile): how long to wait; 0 does not wait (reconcile). */
  timeoutMs?: number;
  /** words are the arguments of `__complete` (the command line being completed). */
  words?: string[];
}

/** HINT ends every usage error, as kubectl's `See 'kubectl get -h' for help and examples.` */
export const HINT = "See 'kubectl release --help' for usage.";

/** UsageError is a command line the plugin does not understand; main prints it in one line with HINT. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** USAGE is what `kubectl release --help` prints. */
export const USAGE = `kubectl release: look at OpenChoreo Releases, hold or nudge them, and preview them against their data plane.

Usage:
  kubectl release get [NAME] [-n NS | -A] [-l SEL]   Releases: Ready, resources by health, drifted, age
                      [-o json|yaml|wide|name] [-w]  (-o json|yaml: the API object; -w: follow changes)
  kubectl release tree NAME [-n NS] [-w]         every resource: health, reason, message, drift, plan
  kubectl release events NAME [-n NS]            the Release's Events, newest last
  kubectl release wait NAME [--for=condition=Ready] [--timeout=30s]
                                                 wait for a condition of the current spec, with progress
  kubectl release reconcile NAME [--timeout=60s] ask the controller for a pass now and wait for it
  kubectl release suspend NAME                   hold the Release: nothing written or pruned, drift reported
  kubectl release resume NAME                    apply it again
  kubectl release diff -f release.yaml           server-side dry run on the data plane, as a unified
                                                 diff per object (needs read access to the DataPlane's
                                                 credentials; KUBECTL_EXTERNAL_DIFF is honoured); exit
                                                 code 0: no differences, 1: differences, 2: error
  kubectl release ui [-n NS | -A] [--port N] [--no-open]
                                                 a live web view of the Releases on 127.0.0.1,
                                                 behind a token in the URL it prints
  kubectl release version                        the plugin's version

Flags:
  -n, --namespace NAME     namespace (default: the context's namespace, else "default")
  -A, --all-namespaces     get, ui: every namespace
  -l, --selector SEL       get: only Releases whose labels match (as kubectl: app=web,tier!=db)
  -o, --output FORMAT      get: json, yaml (the API object), wide, name, summary-json (the plugin's
                           summary); tree, events: json, yaml
  -w, --watch              get, tree: print again as the Releases change (Ctrl+C stops)
      --for COND           wait: condition=TYPE[=STATUS] (default condition=Ready)
      --timeout DURATION   wait (default 30s), reconcile (default 60s; 0 returns at once)
  -f, --filename FILE      diff: a file with one or more Releases ("-" reads standard input)
      --kubeconfig PATH    kubeconfig (default: $KUBECONFIG, else ~/.kube/config)
      --context NAME       kubeconfig context (default: its current-context)
      --port N             ui: the local port (default: any free one)
      --no-open            ui: print the URL, do not open a browser
      --color WHEN         auto (a terminal, unless NO_COLOR is set), always or never
  -h, --help               this text
`;

/** COMMANDS are the commands a person types (completion offers them). */
export const COMMANDS: readonly Command[] = [
  'get',
  'tree',
  'events',
  'wait',
  'reconcile',
  'suspend',
  'resume',
  'diff',
  'ui',
  'version',
];

/** NAMED are the commands that take exactly one Release name. */
const NAMED: readonly Command[] = ['tree', 'events', 'wait', 'reconcile', 'suspend', 'resume'];

/** ValueField is a PluginArgs field set from a flag's value. */
type ValueField =
  | 'namespace'
  | 'kubeconfig'
  | 'context'
  | 'output'
  | 'color'
  | 'file'
  | 'port'
  | 'selector'
  | 'for'
  | 'timeout';

/** VALUE_FLAGS maps every spelling of a flag that takes a value to its field. */
export const VALUE_FLAGS: Record<string, ValueField> = {
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
  '-l': 'selector',
  '--selector': 'selector',
  '--for': 'for',
  '--timeout': 'timeout',
};

/** BOOLEAN_FLAGS are the flags without a value. */
export const BOOLEAN_FLAGS: readonly string[] = [
  '-A',
  '--all-namespaces',
  '-w',
  '--watch',
  '--no-open',
  '-h',
  '--help',
];

/** OUTPUTS lists the `-o` formats each command takes. */
export const OUTPUTS: Partial<Record<Command, readonly OutputFormat[]>> = {
  get: ['json', 'yaml', 'wide', 'name', 'summary-json'],
  tree: ['json', 'yaml'],
  events: ['json', 'yaml'],
};

/** DURATION matches kubectl's `--timeout` values: `30s`, `1m30s`, `500ms`, `0`. */
const DURATION = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/;

/** parseTimeout turns a Go-style duration (`--timeout`) into milliseconds. */
export function parseTimeout(text: string): number {
  if (!DURATION.test(text))
    throw new UsageError(`--timeout must be a duration such as 30s or 2m, not "${text}"`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return Math.round(ms);
}

/** parseFor reads `--for=condition=TYPE[=STATUS]`. */
export function parseFor(text: string): WaitFor {
  const match = /^condition=([A-Za-z][A-Za-z0-9]*)(?:=([A-Za-z]+))?$/.exec(text);
  if (!match) throw new UsageError(`--for must be condition=TYPE or condition=TYPE=STATUS, not "${text}"`);
  const status = match[2] ?? 'True';
  const capitalized = status.charAt(0).toUpperCase() + status.slice(1).toLowerCase();
  if (!['True', 'False', 'Unknown'].includes(capitalized))
    throw new UsageError(`--for ${text}: the status must be True, False or Unknown`);
  return { condition: match[1] ?? '', status: capitalized };
}

/** parseArgs parses the arguments after `kubectl release` (or `kubectl-release`). */
export function parseArgs(argv: readonly string[]): PluginArgs {
  const args: PluginArgs = { command: 'help', allNamespaces: false, output: 'text', color: 'auto' };
  if (argv[0] === '__complete') return { ...args, command: '__complete', words: argv.slice(1) };
  const positional: string[] = [];
  const values: Partial<Record<ValueField, string>> = {};
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
    if (arg === '-w' || arg === '--watch') {
      args.watch = true;
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
    // kubectl's short flags take their value attached too: -nacme, -ojson.
    if (/^-[nolf]./.test(arg) && !arg.startsWith('--')) {
      const short = VALUE_FLAGS[arg.slice(0, 2)];
      if (short) {
        values[short] = arg.slice(2);
        continue;
      }
    }
    if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${flag}`);
    positional.push(arg);
  }

  const [command, ...rest] = positional;
  if (command === undefined) return args;
  if (!COMMANDS.includes(command as Command)) {
    throw new UsageError(`unknown command "${command}" (one of ${COMMANDS.join(', ')})`);
  }
  args.command = command as Command;
  args.namespace = values.namespace;
  args.kubeconfig = values.kubeconfig;
  args.context = values.context;
  args.file = values.file;
  args.selector = values.selector;
  if (values.output !== undefined) {
    const allowed = OUTPUTS[args.command] ?? [];
    if (!allowed.includes(values.output as OutputFormat)) {
      throw new UsageError(
        allowed.length === 0
          ? `${args.command} does not take -o`
          : `${args.command} -o ${values.output} is not supported (one of ${allowed.join(', ')})`,
      );
    }
    args.output = values.output as OutputFormat;
  }
  if (values.color !== undefined) {
    if (!['auto', 'always', 'never'].includes(values.color)) {
      throw new UsageError(`--color must be auto, always or never, not "${values.color}"`);
    }
    args.color = values.color as ColorMode;
  }

  if (NAMED.includes(args.command)) {
    if (rest.length !== 1) throw new UsageError(`${args.command} needs exactly one Release name`);
    args.name = rest[0];
  }
  switch (args.command) {
    case 'get':
      if (rest.length > 1) throw new UsageError('get takes at most one Release name');
      args.name = rest[0];
      if (args.name !== undefined && (args.allNamespaces || args.selector !== undefined))
        throw new UsageError('get NAME takes neither -A nor -l (they select several Releases)');
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
    case 'wait':
      args.waitFor = parseFor(values.for ?? 'condition=Ready');
      args.timeoutMs = parseTimeout(values.timeout ?? '30s');
      break;
    case 'reconcile':
      args.timeoutMs = parseTimeout(values.timeout ?? '60s');
      break;
    case 'version':
      if (rest.length > 0) throw new UsageError('version takes no argument');
      break;
    default:
      break;
  }
  if (args.allNamespaces && args.command !== 'get' && args.command !== 'ui')
    throw new UsageError(`-A works with get and ui only`);
  if ((values.port !== undefined || args.open === false) && args.command !== 'ui')
    throw new UsageError('--port and --no-open work with ui only');
  if (args.allNamespaces && args.namespace !== undefined)
    throw new UsageError('give either -n or -A, not both');
  if (args.file !== undefined && args.command !== 'diff') throw new UsageError('-f works with diff only');
  if (args.selector !== undefined && args.command !== 'get') throw new UsageError('-l works with get only');
  if (args.watch && args.command !== 'get' && args.command !== 'tree')
    throw new UsageError('-w works with get and tree only');
  if (args.watch && args.output !== 'text' && args.output !== 'wide')
    throw new UsageError(`-w prints tables; it does not take -o ${args.output}`);
  if (values.for !== undefined && args.command !== 'wait') throw new UsageError('--for works with wait only');
  if (values.timeout !== undefined && args.command !== 'wait' && args.command !== 'reconcile')
    throw new UsageError('--timeout works with wait and reconcile only');
  return args;
}
