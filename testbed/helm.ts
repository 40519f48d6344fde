/**
 * helm runs the `helm` binary of the test bed: `<bin>/helm` from `testbed/build.sh` (built from the Go
 * module in testbed/helm), or, when that folder has none (a KUBEBUILDER_ASSETS folder, say), `helm`
 * on PATH. Helm's cache, configuration and data go to a temporary folder of this process, so tests
 * never read or change the user's repositories and plugins.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { binaries } from './cluster.ts';

/** HelmOptions configures one helm call. */
export interface HelmOptions {
  /** kubeconfig is passed as --kubeconfig; commands that reach no cluster need none. */
  kubeconfig?: string;
  /** input is written to helm's standard input (for `-f -`). */
  input?: string;
  /** cwd is the working folder; default the current one. */
  cwd?: string;
  /** timeoutMs ends helm after this long; default 120 s. */
  timeoutMs?: number;
}

/** HelmError is a helm call that exited non-zero; it keeps both outputs for assertions. */
export class HelmError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HelmError';
  }
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let helmPathPromise: Promise<string> | undefined;
let homePromise: Promise<string> | undefined;

/** helmPath returns the helm binary the test bed uses, or fails saying how to get one. */
export function helmPath(): Promise<string> {
  helmPathPromise ??= (async () => {
    const binDir = await binaries();
    const built = join(binDir, 'helm');
    if (await executable(built)) return built;
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir && (await executable(join(dir, 'helm')))) return join(dir, 'helm');
    }
    throw new Error(
      `testbed: no helm in ${binDir} nor on PATH. Unset KUBEBUILDER_ASSETS so that testbed/build.sh ` +
        'builds it (from testbed/helm/go.mod), add a helm binary to that folder, or install helm 3 on PATH.',
    );
  })();
  helmPathPromise.catch(() => (helmPathPromise = undefined));
  return helmPathPromise;
}

/** helm runs `helm ARGS...` and returns its standard output; it rejects with a HelmError on failure. */
export async function helm(args: string[], options: HelmOptions = {}): Promise<string> {
  const bin = await helmPath();
  homePromise ??= mkdtemp(join(tmpdir(), 'rc-helm-'));
  const home = await homePromise;
  const fullArgs = options.kubeconfig ? [`--kubeconfig=${options.kubeconfig}`, ...args] : args;
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      bin,
      fullArgs,
      {
        cwd: options.cwd,
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 120_000,
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(home, 'cache'),
          HELM_CONFIG_HOME: join(home, 'config'),
          HELM_DATA_HOME: join(home, 'data'),
        },
      },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new HelmError(
              `testbed: \`helm ${args.join(' ')}\` failed: ${stderr.trim() || err.message}`,
              stdout,
              stderr,
              {
                cause: err,
              },
            ),
          );
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}
