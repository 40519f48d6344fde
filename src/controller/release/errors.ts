/**
 * ReconcileError fails a reconcile after its status was written, so that the queue retries the
 * Release with backoff; the status already tells the user what is wrong. One whose every cause is
 * expected (runtime/controller.ts ExpectedFailure: a data plane or webhook being waited for) is
 * logged at `logLevel` without a stack trace; otherwise it is an error line with one.
 */
export class ReconcileError extends Error {
  readonly logLevel?: 'info' | 'warn';
  constructor(message: string, options?: { cause?: unknown; logLevel?: 'info' | 'warn' }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReconcileError';
    if (options?.logLevel) this.logLevel = options.logLevel;
  }
}
