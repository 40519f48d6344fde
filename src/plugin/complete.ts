/**
 * Shell completion, in Cobra's protocol so kubectl's plugin completion works: kubectl runs
 * `kubectl_complete-release ARGS... CURRENT` (bin/), which runs `kubectl-release __complete ...`;
 * the answer is one candidate a line, then `:DIRECTIVE` (4: no file completion; 0: the shell's
 * default, files, for `-f`). Release names and namespaces come from the cluster; a cluster that
 * cannot be reached completes nothing rather than printing an error into the user's prompt.
 */
import { BOOLEAN_FLAGS, COMMANDS, OUTPUTS, VALUE_FLAGS, type Command } from './args.ts';

/** Directives are Cobra's ShellCompDirective values used here. */
export const Directives = { files: 0, noFiles: 4 } as const;

/** Lister lists names from the cluster: Releases of a namespace, or namespaces. */
export type Lister = (what: 'releases' | 'namespaces', namespace: string | undefined) => Promise<string[]>;

/** NAME_TAKERS are the commands whose first argument is a Release name. */
const NAME_TAKERS: readonly string[] = ['get', 'tree', 'events', 'wait', 'reconcile', 'suspend', 'resume'];

/** FLAGS_OF lists the flags worth offering after each command (every command takes the connection flags). */
const FLAGS_OF: Partial<Record<Command, string[]>> = {
  get: ['--namespace', '--all-namespaces', '--selector', '--output', '--watch'],
  tree: ['--namespace', '--output', '--watch'],
  events: ['--namespace', '--output'],
  wait: ['--namespace', '--for', '--timeout'],
  reconcile: ['--namespace', '--timeout'],
  suspend: ['--namespace'],
  resume: ['--namespace'],
  diff: ['--namespace', '--filename'],
  ui: ['--namespace', '--all-namespaces', '--port', '--no-open'],
};

/** completions answers one completion request: the words typed so far, the last being completed. */
export async function completions(words: readonly string[], list: Lister): Promise<string> {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const answer = (candidates: readonly string[], directive: number = Directives.noFiles) =>
    [...candidates.filter((c) => c.startsWith(current)), `:${directive}`].join('\n') + '\n';
  // The namespace typed so far (-n NS, --namespace=NS) scopes the Release names.
  let namespace: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < before.length; i++) {
    const word = before[i] ?? '';
    const [flag, inline] =
      word.startsWith('--') && word.includes('=') ? word.split(/=(.*)/s) : [word, undefined];
    if (VALUE_FLAGS[flag ?? ''] !== undefined) {
      const value = inline ?? before[++i];
      if (VALUE_FLAGS[flag ?? ''] === 'namespace') namespace = value;
      continue;
    }
    if (!word.startsWith('-')) positional.push(word);
  }
  const command = positional[0] as Command | undefined;
  const previous = before[before.length - 1] ?? '';
  const field = VALUE_FLAGS[previous];
  if (field !== undefined && !previous.includes('=')) {
    switch (field) {
      case 'namespace':
        return answer(await list('namespaces', undefined));
      case 'output':
        return answer(OUTPUTS[command ?? 'get'] ?? []);
      case 'color':
        return answer(['auto', 'always', 'never']);
      case 'for':
        return answer(['condition=Ready', 'condition=ResourcesApplied']);
      case 'file':
        return `:${Directives.files}\n`;
      default:
        return answer([]);
    }
  }
  if (current.startsWith('-')) {
    const offered = command ? (FLAGS_OF[command] ?? []) : [];
    return answer(
      [...offered, '--kubeconfig', '--context', '--color', '--help'].filter(
        (f) => BOOLEAN_FLAGS.includes(f) || VALUE_FLAGS[f] !== undefined,
      ),
    );
  }
  if (command === undefined) return answer(COMMANDS);
  if (NAME_TAKERS.includes(command) && positional.length === 1)
    return answer(await list('releases', namespace));
  return answer([]);
}
