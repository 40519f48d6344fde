/**
 * Loaded into the controller by the bench (`node --expose-gc --import=bench/gc-preload.ts`, node
 * strips the types) for the DataPlane runs only: SIGWINCH runs a full garbage collection, so the
 * V8 heap the bench reads next is live memory rather than live memory plus whatever garbage the
 * last collection left. SIGWINCH is ignored by default, so the controller has no other use for it.
 */
process.on('SIGWINCH', () => (globalThis as { gc?: () => void }).gc?.());
