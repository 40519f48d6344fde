/**
 * The controller process under measurement, started by the repository's launcher
 * (testbed/controller.ts). By default the bench runs the production build (`tsc -p
 * tsconfig.build.json`, then `node main.js`, as the container image does), because the tsx loader
 * that `npm start` and the tests use adds its own memory (esbuild, source maps) and CPU that no
 * deployment pays. `--tsx` runs the sources instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerProcess, ROOT } from '../testbed/controller.ts';

/** BUILD_DIR holds the bench's own build of src/ (inside bench/results/, which lint and git ignore). */
export const BUILD_DIR = join(ROOT, 'bench', 'results', '.build');

/** BenchController is the controller process under measurement. */
export type BenchController = ControllerProcess;

/** ControllerStartOptions configures a controller process. */
export interface ControllerStartOptions {
  kubeconfig: string;
  args: string[];
  env: Record<string, string>;
  /** runtime is `node` (the production build) or `tsx` (the sources, as the tests run them). */
  runtime: 'node' | 'tsx';
  /** nodeArgs go to node before the entry point (profiling); only with the `node` runtime. */
  nodeArgs: string[];
}

let built: Promise<string> | undefined;

/**
 * buildController compiles src/ once per bench run and returns the entry point. Type errors (in
 * code other engineers are editing, say) are reported but do not stop the bench when tsc emitted.
 */
export function buildController(log: (line: string) => void): Promise<string> {
  built ??= new Promise((res, rej) => {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    log(`building the controller into ${BUILD_DIR}`);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFile(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD_DIR, '--sourceMap', 'false'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => {
        const entry = join(BUILD_DIR, 'main.js');
        if (err && !existsSync(entry)) {
          rej(new Error(`building the controller failed:\n${stdout}`, { cause: err }));
          return;
        }
        if (err)
          log(
            `warning: tsc reported errors but emitted the build:\n${stdout.split('\n').slice(0, 10).join('\n')}`,
          );
        res(entry);
      },
    );
  });
  return built;
}

/**
 * imageNodeFlags reads the node flags of the container image's ENTRYPOINT (between "node" and
 * the entry file), so the bench runs the production build exactly as the image does.
 */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (!line)
    throw new Error('Dockerfile has no ENTRYPOINT in exec form; the bench reads its node flags from it');
  const argv = JSON.parse(line) as string[];
  if (argv[0] !== 'node') throw new Error(`Dockerfile ENTRYPOINT does not start with node: ${line}`);
  return argv.slice(1).filter((arg) => arg.startsWith('-'));
}

/** startController starts a controller process and waits until it is ready. */
export async function startController(
  options: ControllerStartOptions,
  log: (line: string) => void,
): Promise<BenchController> {
  if (options.runtime === 'tsx') {
    if (options.nodeArgs.length > 0) throw new Error('node arguments (--profile) need the node runtime');
    return ControllerProcess.start({ kubeconfig: options.kubeconfig, args: options.args, env: options.env });
  }
  return ControllerProcess.start({
    kubeconfig: options.kubeconfig,
    args: options.args,
    env: { NODE_ENV: 'production', ...options.env },
    entry: await buildController(log),
    nodeArgs: options.nodeArgs,
  });
}
