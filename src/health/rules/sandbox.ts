/**
 * RuleSandbox runs HealthRules in a worker thread (worker.ts), so that no rule can block the
 * controller's event loop: requests are answered in order, the one at the head of the line has a
 * watchdog, and a worker that outlives it (a Lua pattern match that never ends, a CEL regular
 * expression that backtracks forever) or dies is terminated and replaced, with every rule compiled
 * again in the new one.
 */
import { Worker } from 'node:worker_threads';
import { health, type HealthResult } from '../result.ts';
import {
  DEFAULT_LUA_LIMITS,
  firstLine,
  type FromWorker,
  type LuaLimits,
  type RuleSource,
  type ToWorker,
} from './protocol.ts';
import { RuleCompileError, RuleReasons } from './result.ts';

/** SandboxOptions configures the worker and its limits. */
export interface SandboxOptions {
  /** lua bounds each Lua evaluation inside the worker (time by an instruction hook, memory by the allocator) */
  lua?: LuaLimits;
  /** watchdogMs is how long a request may take before the worker is replaced (plus luaTimeoutMs per object) */
  watchdogMs?: number;
  /** heapMb caps the worker's JavaScript heap (CEL, and wasmoon's copies of objects) */
  heapMb?: number;
}

/** DEFAULT_WATCHDOG_MS is the base time a request may take before the worker is replaced. */
export const DEFAULT_WATCHDOG_MS = 2000;

// A worker that has not loaded in this time is replaced (it has the same watchdog as a request then).
const STARTUP_MS = 60_000;

type Request = { [K in ToWorker['type']]: Omit<Extract<ToWorker, { type: K }>, 'seq'> }[ToWorker['type']];

interface Pending {
  seq: number;
  message: ToWorker;
  budgetMs: number;
  resolve: (answer: FromWorker) => void;
}

/** RuleSandbox compiles and evaluates rules in a supervised worker thread. */
export class RuleSandbox {
  private worker: Worker | undefined;
  // The watchdog runs only once the worker has loaded (slow under tsx, and on a busy node).
  private started = false;
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closed = false;
  /** restarts counts the workers replaced after a watchdog or a crash (tests, metrics). */
  restarts = 0;
  // Every compiled rule, to compile again in a replacement worker.
  private readonly rules = new Map<string, RuleSource>();
  private readonly lua: LuaLimits;
  private readonly watchdogMs: number;

  constructor(private readonly options: SandboxOptions = {}) {
    this.lua = options.lua ?? DEFAULT_LUA_LIMITS;
    this.watchdogMs = options.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  }

  /** compile compiles a rule in the worker; a bad rule resolves to its RuleCompileError. */
  async compile(rule: RuleSource): Promise<RuleCompileError | undefined> {
    const answer = await this.send({ type: 'compile', rule }, this.watchdogMs);
    if (answer.type === 'compiled' && !answer.error) {
      this.rules.set(rule.id, rule);
      return undefined;
    }
    this.rules.delete(rule.id);
    if (answer.type === 'compiled' && answer.error)
      return new RuleCompileError(answer.error.field, answer.error.detail);
    const field = 'cel' in rule ? 'spec.cel' : 'spec.lua';
    return new RuleCompileError(
      field,
      answer.type === 'failed' ? answer.message : 'the worker gave no answer',
    );
  }

  /** forget drops a rule from the worker. */
  async forget(id: string): Promise<void> {
    this.rules.delete(id);
    await this.send({ type: 'forget', id }, this.watchdogMs);
  }

  /** evaluate runs each item's rule on its object; a worker that fails or is stopped makes every item Unknown with why. */
  async evaluate(items: Array<{ id: string; obj: Record<string, unknown> }>): Promise<HealthResult[]> {
    if (items.length === 0) return [];
    const answer = await this.send(
      { type: 'evaluate', items },
      this.watchdogMs + items.length * this.lua.timeoutMs,
    );
    if (answer.type === 'evaluated' && answer.results.length === items.length) return answer.results;
    const why = answer.type === 'failed' ? answer.message : 'the worker gave no answer';
    // Not the object's fault (the worker was stopped or failed): not cached, asked again next time.
    return items.map(({ id }) => health('Unknown', RuleReasons.limitExceeded, `HealthRule ${id}: ${why}`));
  }

  /** close terminates the worker; pending requests resolve as failed. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll('the HealthRule sandbox is closed');
    if (worker) await worker.terminate();
  }

  private send(request: Request, budgetMs: number): Promise<FromWorker> {
    const seq = ++this.seq;
    const message = { ...request, seq };
    if (this.closed)
      return Promise.resolve({ type: 'failed', seq, message: 'the HealthRule sandbox is closed' });
    return new Promise((resolve) => {
      this.queue.push({ seq, message, budgetMs, resolve });
      this.ensureWorker().postMessage(message);
      if (this.queue.length === 1) this.arm();
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // Under tsx (development, tests) the sources are .ts; the image runs the compiled .js.
    const file = import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js';
    const worker = new Worker(new URL(file, import.meta.url), {
      workerData: { lua: this.lua },
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb ?? 128 },
    });
    worker.unref();
    this.started = false;
    worker.on('message', (answer: FromWorker) => this.answered(worker, answer));
    worker.on('error', (err) => this.replace(worker, `the HealthRule worker failed: ${firstLine(err)}`));
    worker.on('exit', () => this.replace(worker, 'the HealthRule worker exited'));
    this.worker = worker;
    // A replacement compiles every rule again before the requests that use them (it answers in order).
    for (const rule of this.rules.values())
      worker.postMessage({ type: 'compile', seq: 0, rule } satisfies ToWorker);
    return worker;
  }

  private answered(worker: Worker, answer: FromWorker): void {
    if (worker !== this.worker) return;
    if (answer.type === 'ready') {
      this.started = true;
      return this.arm();
    }
    if (answer.seq === 0) return;
    const head = this.queue[0];
    if (!head || head.seq !== answer.seq) return;
    this.queue.shift();
    head.resolve(answer);
    this.arm();
  }

  // The watchdog times the request at the head of the line: the worker answers in order.
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const head = this.queue[0];
    if (!head) return;
    const budgetMs = this.started ? head.budgetMs : STARTUP_MS;
    this.timer = setTimeout(() => {
      const worker = this.worker;
      if (worker)
        this.replace(worker, `the HealthRule worker did not answer within ${budgetMs} ms and was restarted`);
    }, budgetMs);
    this.timer.unref();
  }

  // The head request is answered with the failure; the rest go to a new worker.
  private replace(worker: Worker, why: string): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    this.restarts++;
    void worker.terminate();
    const head = this.queue.shift();
    head?.resolve({ type: 'failed', seq: head.seq, message: why });
    if (this.closed) return this.failAll(why);
    if (this.queue.length === 0) return this.arm();
    const fresh = this.ensureWorker();
    for (const pending of this.queue) fresh.postMessage(pending.message);
    this.arm();
  }

  private failAll(why: string): void {
    clearTimeout(this.timer);
    for (const pending of this.queue.splice(0))
      pending.resolve({ type: 'failed', seq: pending.seq, message: why });
  }
}
