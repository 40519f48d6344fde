/**
 * node-version: the first import of every entry point (the controller, the demo, the test bed's
 * command, the test runner, the bench, the CRD generator). On a Node.js older than package.json's
 * `engines.node` it prints one line saying which Node.js the project needs and how to get it, and
 * exits 1 before any other module of the program runs: ES modules run in the order they are
 * imported, so being imported first is enough, and this module imports nothing but Node's own.
 * bin/kubectl-release has the same check in plain JavaScript (it must run on any Node.js).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** NodeRequirement is what package.json says about Node.js: `engines.node` and the `node` development dependency. */
export interface NodeRequirement {
  /** engines is package.json's `engines.node`, for example ">=22.12". */
  engines: string;
  /** own is the exact version of the `node` development dependency that `npm ci` installs, if any. */
  own?: string;
}

/**
 * nodeVersionProblem returns the one line to print when Node.js `version` (process.version, "v20.20.2")
 * is older than the requirement, or undefined when it is new enough or the requirement is not of the
 * form ">=MAJOR.MINOR[.PATCH]". `checkout` is true when the program runs from a checkout, where
 * `npm ci` brings the project's own Node.js.
 */
export function nodeVersionProblem(
  program: string,
  version: string,
  execPath: string,
  requirement: NodeRequirement,
  checkout: boolean,
): string | undefined {
  const minimum = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?\s*$/.exec(requirement.engines);
  const current = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!minimum || !current) return undefined;
  const need = [minimum[1], minimum[2], minimum[3] ?? '0'].map(Number);
  const have = current.slice(1, 4).map(Number);
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return undefined;
    if (have[i]! < need[i]!) break;
    if (i === 2) return undefined;
  }
  const wanted = `Node.js ${minimum[1]}.${minimum[2]}${minimum[3] ? `.${minimum[3]}` : ''} or newer`;
  const how =
    checkout && requirement.own
      ? `run it through npm (npm start, npm run demo, npm test, ...), which uses the Node.js ${requirement.own} ` +
        `that \`npm ci\` installs into node_modules/.bin, or put ${wanted} first on PATH`
      : `install ${wanted} and put it first on PATH`;
  return `${program}: needs ${wanted}, but ${execPath} is ${version}; ${how}`;
}

/** requirementOf reads the Node.js requirement out of package.json's text. */
export function requirementOf(packageJson: string): NodeRequirement | undefined {
  const pkg = JSON.parse(packageJson) as {
    engines?: { node?: unknown };
    devDependencies?: { node?: unknown };
  };
  const engines = pkg.engines?.node;
  if (typeof engines !== 'string') return undefined;
  const own = pkg.devDependencies?.node;
  return typeof own === 'string' ? { engines, own } : { engines };
}

// src/node-version.ts and dist/node-version.js both sit one folder below package.json.
const root = fileURLToPath(new URL('..', import.meta.url));
let requirement: NodeRequirement | undefined;
try {
  requirement = requirementOf(readFileSync(join(root, 'package.json'), 'utf8'));
} catch {
  requirement = undefined; // no readable package.json beside the program: nothing to check against
}
if (requirement) {
  const program = relative(root, process.argv[1] ?? '') || 'release-controller';
  const checkout = import.meta.url.endsWith('.ts');
  const problem = nodeVersionProblem(program, process.version, process.execPath, requirement, checkout);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
