/**
 * `kubectl release ui`: starts the local server (server.ts), prints its URL with the token, opens
 * the browser unless `--no-open` (xdg-open or open when there is one; never an error when there is
 * none) and serves until interrupted.
 */
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { startUi } from './server.ts';

/** UiCommand is what `ui` needs from the command line. */
export interface UiCommand {
  client: KubeClient;
  namespace: string | undefined;
  port: number;
  open: boolean;
  stdout: { write(text: string): unknown };
}

/** runUi serves the view until interrupted; it returns the exit code. */
export async function runUi(command: UiCommand): Promise<number> {
  // What goes wrong with the watches is shown in the page, where the person is looking.
  const logger = pino({ level: 'silent' });
  const server = await startUi({
    client: command.client,
    namespace: command.namespace,
    port: command.port,
    logger,
  });
  const scope = command.namespace === undefined ? 'every namespace' : `namespace ${command.namespace}`;
  command.stdout.write(
    `Serving the Releases of ${scope} on http://127.0.0.1:${server.port} (Ctrl+C stops it). Open:\n\n    ${server.url}\n\n`,
  );
  if (command.open) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return 0;
}

/** openBrowser asks the desktop to open the URL; without a desktop the printed URL is enough. */
function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined); // not installed: the URL is printed
    child.unref();
  } catch {
    // spawn throws synchronously only for bad arguments; the URL is printed either way.
  }
}
