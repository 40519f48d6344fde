/**
 * buildinfo: what this controller is: the version of package.json, the git commit when it runs from
 * a checkout (the image has no .git: "unknown" there), and the Node.js release. `--version` prints
 * it, the start-up log line carries it, and the gauge release_controller_build_info exports it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** BuildInfo names this build. */
export interface BuildInfo {
  /** version is package.json's version. */
  version: string;
  /** commit is the git commit of a checkout, or UNKNOWN_COMMIT. */
  commit: string;
  /** node is the Node.js release running the controller (process.version). */
  node: string;
}

/** UNKNOWN_COMMIT is the commit of a build that does not know its own (no git checkout). */
export const UNKNOWN_COMMIT = 'unknown';

/** GIT_TIMEOUT_MS bounds the one `git rev-parse` at start-up, so a hung git never delays it long. */
const GIT_TIMEOUT_MS = 2_000;

/** readBuildInfo reads the build info of the package whose root is `root` (src/ or dist/'s parent by default). */
export function readBuildInfo(root = fileURLToPath(new URL('../..', import.meta.url))): BuildInfo {
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // no package.json beside the program: the version stays unknown rather than stopping start-up
  }
  return { version, commit: gitCommit(root), node: process.version };
}

/** gitCommit is the commit checked out at `root`, or UNKNOWN_COMMIT when it is no git checkout or git is missing. */
function gitCommit(root: string): string {
  if (!existsSync(join(root, '.git'))) return UNKNOWN_COMMIT;
  try {
    const out = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: GIT_TIMEOUT_MS,
    }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out.slice(0, 12) : UNKNOWN_COMMIT;
  } catch {
    return UNKNOWN_COMMIT;
  }
}

/** versionLine is what `--version` prints. */
export function versionLine(info: BuildInfo): string {
  return `release-controller ${info.version} (commit ${info.commit}, node ${info.node})`;
}
