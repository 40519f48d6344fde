/**
 * ReconcileError fails a reconcile after its status was written, so that the queue retries the
 * Release with backoff; the status already tells the user what is wrong.
 */
export class ReconcileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconcileError';
  }
}
