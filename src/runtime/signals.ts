/**
 * Shutdown on SIGTERM and SIGINT, as controller-runtime's SetupSignalHandler: the first signal starts
 * a graceful shutdown, a second one exits at once with code 1 (an impatient Ctrl-C, or a shutdown
 * that hangs).
 */
import type { Logger } from 'pino';

/** SHUTDOWN_SIGNALS are the signals that stop the process. */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** ShutdownHandler runs the graceful shutdown; the process exits with code 1 if it throws. */
export type ShutdownHandler = (signal: NodeJS.Signals) => void | Promise<void>;

/** SignalSource is the part of `process` onShutdown uses (tests pass an EventEmitter). */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/** OnShutdownOptions configures onShutdown. */
export interface OnShutdownOptions {
  logger?: Logger;
  /** source defaults to `process`. */
  source?: SignalSource;
}

/**
 * onShutdown calls handler on the first SIGTERM or SIGINT and exits with code 1 on the second.
 * It does not exit after handler finishes: the caller decides the exit code. It returns a function
 * that removes the signal listeners.
 */
export function onShutdown(handler: ShutdownHandler, options: OnShutdownOptions = {}): () => void {
  const source: SignalSource = options.source ?? process;
  const logger = options.logger;
  let received: NodeJS.Signals | undefined;
  const listener = (signal: NodeJS.Signals): void => {
    if (received !== undefined) {
      logger?.warn({ signal, first: received }, 'second signal received; exiting immediately');
      source.exit(1);
      return;
    }
    received = signal;
    logger?.info({ signal }, 'signal received; shutting down gracefully (send it again to exit immediately)');
    Promise.resolve()
      .then(() => handler(signal))
      .catch((err: unknown) => {
        logger?.error({ err }, 'graceful shutdown failed');
        source.exit(1);
      });
  };
  for (const signal of SHUTDOWN_SIGNALS) source.on(signal, listener);
  return () => {
    for (const signal of SHUTDOWN_SIGNALS) source.off(signal, listener);
  };
}
