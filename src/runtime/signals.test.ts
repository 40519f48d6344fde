import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { SignalSource } from './signals.ts';
import { onShutdown } from './signals.ts';

/** fakeProcess is an EventEmitter standing in for `process`, recording exit codes. */
function fakeProcess(): SignalSource & {
  exits: number[];
  emit(signal: NodeJS.Signals): void;
  count(): number;
} {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    exits,
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    exit: (code) => void exits.push(code),
    emit: (signal) => void emitter.emit(signal, signal),
    count: () => emitter.listenerCount('SIGTERM') + emitter.listenerCount('SIGINT'),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

void describe('onShutdown', () => {
  void it('runs the handler once on the first signal and exits with 1 on the second', async () => {
    const proc = fakeProcess();
    const seen: string[] = [];
    onShutdown((signal) => void seen.push(signal), { source: proc });
    proc.emit('SIGTERM');
    await settle();
    assert.deepEqual(seen, ['SIGTERM']);
    assert.deepEqual(proc.exits, []);
    proc.emit('SIGINT');
    await settle();
    assert.deepEqual(seen, ['SIGTERM']);
    assert.deepEqual(proc.exits, [1]);
  });

  void it('exits with 1 when the handler fails', async () => {
    const proc = fakeProcess();
    onShutdown(() => Promise.reject(new Error('boom')), { source: proc });
    proc.emit('SIGINT');
    await settle();
    assert.deepEqual(proc.exits, [1]);
  });

  void it('removes its listeners when disposed', () => {
    const proc = fakeProcess();
    const dispose = onShutdown(() => undefined, { source: proc });
    assert.equal(proc.count(), 2);
    dispose();
    assert.equal(proc.count(), 0);
  });
});
