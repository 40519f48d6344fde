/**
 * The HealthRule worker: compiles and evaluates rules off the event loop, one request at a time.
 * The sandbox (sandbox.ts) terminates it when a request outlives its watchdog, so nothing a rule
 * does can stall the controller.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { health } from '../result.ts';
import { compileCel, evaluateCel, type CompiledCel } from './cel.ts';
import { LuaRuleEngine } from './lua.ts';
import { DEFAULT_LUA_LIMITS, firstLine, type FromWorker, type LuaLimits, type ToWorker } from './protocol.ts';
import { RuleCompileError, RuleReasons } from './result.ts';

const port = parentPort;
if (!port) throw new Error('src/health/rules/worker.ts runs only as a worker thread (sandbox.ts starts it)');
const limits = (workerData as { lua?: LuaLimits } | undefined)?.lua ?? DEFAULT_LUA_LIMITS;

const cel = new Map<string, CompiledCel>();
const lua = new Set<string>();
let engine: Promise<LuaRuleEngine> | undefined;
const luaEngine = () => (engine ??= LuaRuleEngine.create(limits));

async function handle(msg: ToWorker): Promise<FromWorker> {
  switch (msg.type) {
    case 'compile': {
      const { rule } = msg;
      cel.delete(rule.id);
      if (lua.delete(rule.id)) (await luaEngine()).forget(rule.id);
      try {
        if ('cel' in rule) cel.set(rule.id, compileCel(rule.cel));
        else {
          (await luaEngine()).compile(rule.id, rule.lua);
          lua.add(rule.id);
        }
        return { type: 'compiled', seq: msg.seq };
      } catch (err) {
        if (err instanceof RuleCompileError)
          return { type: 'compiled', seq: msg.seq, error: { field: err.field, detail: err.detail } };
        throw err;
      }
    }
    case 'forget':
      cel.delete(msg.id);
      if (lua.delete(msg.id)) (await luaEngine()).forget(msg.id);
      return { type: 'forgotten', seq: msg.seq };
    case 'evaluate': {
      const results = [];
      for (const { id, obj } of msg.items) {
        const compiled = cel.get(id);
        if (compiled) results.push(evaluateCel(compiled, obj, id));
        else if (lua.has(id)) results.push((await luaEngine()).evaluate(id, obj));
        else
          results.push(
            health('Unknown', RuleReasons.evaluationFailed, `HealthRule ${id} is not compiled in the worker`),
          );
      }
      return { type: 'evaluated', seq: msg.seq, results };
    }
  }
}

// One at a time, in order: the sandbox's watchdog times each request from when it was sent.
let chain = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  chain = chain.then(async () => {
    let answer: FromWorker;
    try {
      answer = await handle(msg);
    } catch (err) {
      answer = { type: 'failed', seq: msg.seq, message: firstLine(err) };
    }
    port.postMessage(answer);
  });
});
// Loading this module (and, in development, compiling it) is not the rules' time: the watchdog starts now.
port.postMessage({ type: 'ready', seq: 0 } satisfies FromWorker);
