/**
 * `KUBECTL_EXTERNAL_DIFF` for `kubectl release diff`, as `kubectl diff` honours it: the live
 * objects go into one temporary folder and the objects as a real apply would leave them into
 * another, one file per object named `[group.]version.kind.namespace.name` (an empty file where
 * an object does not exist, before or after), both cleaned and Secret-masked as the built-in diff
 * shows them; then the program (its words split on spaces, as kubectl splits them) runs with the
 * two folders as its last arguments, on the terminal. Its exit code is passed on: 0 no
 * differences, 1 differences, anything else an error.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskSecrets, objectYaml, type DiffEntry } from './diffview.ts';

/** ExternalFiles are the two sides of an external diff: file name to content. */
export interface ExternalFiles {
  live: Map<string, string>;
  merged: Map<string, string>;
}

/** fileName names an object's file as kubectl diff does: `[group.]version.kind.namespace.name`. */
export function fileName(ref: DiffEntry['ref']): string {
  // A name from a tenant's manifest becomes a file name: no path separators, no leading dots.
  const safe = (part: string) => part.replace(/[/\\]/g, '_').replace(/^\.+/, '_');
  return [...(ref.group ? [ref.group] : []), ref.version, ref.kind, ref.namespace ?? '', ref.name]
    .map(safe)
    .join('.');
}

/** externalFiles lays out the entries of one or more Releases for an external diff program. */
export function externalFiles(entries: readonly DiffEntry[]): ExternalFiles {
  const files: ExternalFiles = { live: new Map(), merged: new Map() };
  for (const raw of entries) {
    if (raw.action === 'error' || raw.action === 'skip') continue;
    const entry = maskSecrets(raw);
    const name = fileName(entry.ref);
    files.live.set(name, objectYaml(entry.live));
    // A pruned object is gone after a real apply; a retained or unchanged one stays as it is.
    const after =
      entry.action === 'prune'
        ? undefined
        : entry.action === 'retain'
          ? entry.live
          : (entry.after ?? entry.live);
    files.merged.set(name, objectYaml(after));
  }
  return files;
}

/** splitCommand splits `KUBECTL_EXTERNAL_DIFF` into a program and its arguments, on spaces as kubectl does. */
export function splitCommand(command: string): string[] {
  return command.split(' ').filter((word) => word !== '');
}

/** runExternalDiff writes the two folders, runs the program on them and returns its exit code. */
export async function runExternalDiff(command: string, entries: readonly DiffEntry[]): Promise<number> {
  const [program, ...args] = splitCommand(command);
  if (program === undefined) throw new Error('KUBECTL_EXTERNAL_DIFF is set but empty');
  const files = externalFiles(entries);
  const live = await mkdtemp(join(tmpdir(), 'LIVE-'));
  const merged = await mkdtemp(join(tmpdir(), 'MERGED-'));
  try {
    for (const [name, text] of files.live) await writeFile(join(live, name), text, { mode: 0o600 });
    for (const [name, text] of files.merged) await writeFile(join(merged, name), text, { mode: 0o600 });
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(program, [...args, live, merged], { stdio: 'inherit' });
      child.on('error', (err) =>
        reject(new Error(`KUBECTL_EXTERNAL_DIFF: cannot run ${program}: ${err.message}`, { cause: err })),
      );
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 2 : 0)));
    });
  } finally {
    await rm(live, { recursive: true, force: true });
    await rm(merged, { recursive: true, force: true });
  }
}
