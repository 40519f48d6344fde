/**
 * The Lua engine of HealthRules, with the contract of Argo CD's `health.lua`: a script reads the
 * global `obj` and returns `{status = "Healthy"|"Progressing"|"Degraded"|"Suspended"|"Missing"|
 * "Unknown", message = "..."}`, so Argo CD's resource customizations paste unchanged.
 *
 * Library: wasmoon (Lua 5.4 compiled to WebAssembly), pinned. It is the reference Lua (Argo CD
 * runs gopher-lua, a 5.1 dialect; health scripts use the common subset), about 540 KiB with no
 * native code, and its allocator can be capped. fengari (Lua 5.3 in JavaScript) has had one
 * release in years, is about 1.8 MiB with three dependencies (one writes temporary files), and runs
 * scripts several times slower.
 *
 * Sandbox: scripts see only the base functions that cannot reach outside (no load, dofile,
 * require, collectgarbage, print), read-only string, table, math and utf8 (rawset is withheld), and Argo CD's
 * safe `os` (time, date, clock, difftime); no io, debug, package or coroutine. Each call runs in a
 * fresh global table, so one script's globals never leak into another's. Limits: an instruction
 * hook stops a script past its deadline, the allocator refuses memory past its cap. A C function
 * that runs long on its own (a pathological pattern match) is out of the hook's reach: the worker
 * that hosts this engine is terminated by its watchdog then (sandbox.ts).
 */
import { LuaFactory, LuaLibraries, LuaEventMasks, type LuaEngine } from 'wasmoon';
import { HEALTH_STATUSES, type HealthStatus } from '../../api/v1alpha1/constants.ts';
import { isRecord } from '../../api/object.ts';
import { health, type HealthResult } from '../result.ts';
import { DEFAULT_LUA_LIMITS, type LuaLimits } from './protocol.ts';
import { RuleCompileError, RuleReasons } from './result.ts';

// VM instructions between two deadline checks: about 10 us of Lua, so the check costs nothing.
const HOOK_EVERY = 1000;
const TIMEOUT_MARK = '__health_rule_timeout__';

// Runs once per engine, then deletes everything from _G but the three entry points, which scripts
// cannot see: each runs with a fresh _ENV whose fallbacks are the allowed functions only.
const PRELUDE = `
local load, setmetatable, pairs, ipairs = load, setmetatable, pairs, ipairs
local base = {}
for _, k in ipairs({"assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
  "rawlen", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type",
  "xpcall", "_VERSION"}) do base[k] = _G[k] end
string.dump = nil
local function readOnly(t)
  return setmetatable({}, { __index = t, __metatable = false,
    __newindex = function(_, k) error("the standard library is read-only (tried to set " .. tostring(k) .. ")", 2) end })
end
local libs = { string = readOnly(string), table = readOnly(table), math = readOnly(math), utf8 = readOnly(utf8),
  os = readOnly({ time = os.time, date = os.date, clock = os.clock, difftime = os.difftime }) }
getmetatable("").__metatable = false
local rules = {}
local entry = {}
function entry.compile(id, src)
  local fn, err = load("local _ENV = ...; " .. src, "=" .. id, "t")
  if not fn then return err end
  rules[id] = fn
  return nil
end
function entry.forget(id) rules[id] = nil end
function entry.run(id, o)
  local env = setmetatable({ obj = o }, { __index = base })
  for k, v in pairs(libs) do env[k] = v end
  env._G = env
  return rules[id](env)
end
local G = _G
for k in pairs(G) do G[k] = nil end
__health_rule_compile, __health_rule_forget, __health_rule_run = entry.compile, entry.forget, entry.run
`;

const STATUSES: ReadonlySet<string> = new Set([...HEALTH_STATUSES, 'Missing']);

/** LuaRuleEngine compiles and runs the Lua HealthRules of one worker; not shared between threads. */
export class LuaRuleEngine {
  private deadline = Number.POSITIVE_INFINITY;

  private constructor(
    private readonly lua: LuaEngine,
    private readonly limits: LuaLimits,
  ) {}

  /** create starts a Lua state with the sandbox and the limits in place. */
  static async create(limits: LuaLimits = DEFAULT_LUA_LIMITS): Promise<LuaRuleEngine> {
    const lua = await new LuaFactory().createEngine({
      openStandardLibs: false,
      traceAllocations: true,
      injectObjects: false,
      enableProxy: false,
    });
    for (const lib of [
      LuaLibraries.Base,
      LuaLibraries.Table,
      LuaLibraries.String,
      LuaLibraries.Math,
      LuaLibraries.UTF8,
      LuaLibraries.OS,
    ])
      lua.global.loadLibrary(lib);
    lua.doStringSync(PRELUDE);
    const engine = new LuaRuleEngine(lua, limits);
    engine.installHook();
    lua.global.setMemoryMax(lua.global.getMemoryUsed() + limits.memoryBytes);
    return engine;
  }

  // wasmoon's own setTimeout keeps the first deadline in its hook and aborts the whole module when
  // it fires inside an unprotected call; this hook reads the current deadline and errors inside
  // our protected call, so the state stays usable.
  private installHook(): void {
    const cmodule = this.lua.global.lua;
    const pointer = cmodule.module.addFunction((state: number) => {
      if (Date.now() > this.deadline) {
        cmodule.lua_pushstring(state, TIMEOUT_MARK);
        cmodule.lua_error(state);
      }
    }, 'vii');
    cmodule.lua_sethook(this.lua.global.address, pointer, LuaEventMasks.Count, HOOK_EVERY);
  }

  /** compile loads a script under `id` (the HealthRule's name); a syntax error throws RuleCompileError on spec.lua. */
  compile(id: string, script: string): void {
    const [err] = this.call('__health_rule_compile', [id, script], this.limits.timeoutMs);
    if (err.ok && typeof err.value === 'string') throw new RuleCompileError('spec.lua', err.value);
    if (!err.ok) throw new RuleCompileError('spec.lua', err.message);
  }

  /** forget drops a compiled script. */
  forget(id: string): void {
    this.call('__health_rule_forget', [id], this.limits.timeoutMs);
  }

  /** evaluate runs the script `id` on an object; errors, limits and malformed answers are Unknown with why. */
  evaluate(id: string, obj: Record<string, unknown>): HealthResult {
    const [result] = this.call('__health_rule_run', [id, obj], this.limits.timeoutMs);
    if (!result.ok) {
      return result.limit
        ? health('Unknown', RuleReasons.limitExceeded, `HealthRule ${id}: ${result.message}`)
        : health('Unknown', RuleReasons.evaluationFailed, `HealthRule ${id}: ${result.message}`);
    }
    return fromScript(id, result.value);
  }

  /** memoryUsed is the Lua heap in bytes (for tests and the bench). */
  memoryUsed(): number {
    return this.lua.global.getMemoryUsed();
  }

  // A protected call of one entry point with a deadline; the stack is left as found.
  private call(name: string, args: unknown[], timeoutMs: number): [CallResult] {
    const g = this.lua.global;
    const cmodule = g.lua;
    const top = g.getTop();
    try {
      cmodule.lua_getglobal(g.address, name);
      // Converting the object is ours, not the script's: the memory cap applies to the script only.
      g.setMemoryMax(undefined);
      try {
        for (const arg of args) this.push(arg, 0);
      } finally {
        g.setMemoryMax(g.getMemoryUsed() + this.limits.memoryBytes);
      }
      this.deadline = Date.now() + timeoutMs;
      const code = cmodule.lua_pcallk(g.address, args.length, 1, 0, 0, null);
      this.deadline = Number.POSITIVE_INFINITY;
      const value: unknown = g.getValue(-1);
      if (code === 0) return [{ ok: true, value }];
      return [errorOf(code, value, timeoutMs, this.limits.memoryBytes)];
    } finally {
      this.deadline = Number.POSITIVE_INFINITY;
      g.setTop(top);
    }
  }
  // JSON to a Lua table through the C API directly: wasmoon's generic pushValue tries each of its
  // type extensions per value and costs about 2 ms for a 1.4 KiB object. Arrays are 1-based
  // sequences, JSON null is nil (Argo CD's conversion does the same), integers are Lua integers.
  private push(value: unknown, depth: number): void {
    const g = this.lua.global;
    const c = g.lua;
    const L = g.address;
    if (depth > MAX_DEPTH || c.lua_checkstack(L, 2) === 0)
      throw new Error(`the object is nested deeper than ${MAX_DEPTH} levels`);
    if (typeof value === 'string') c.lua_pushstring(L, value);
    else if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) c.lua_pushinteger(L, BigInt(value));
      else c.lua_pushnumber(L, value);
    } else if (typeof value === 'boolean') c.lua_pushboolean(L, value ? 1 : 0);
    else if (Array.isArray(value)) {
      c.lua_createtable(L, value.length, 0);
      let i = 0;
      for (const item of value) {
        if (item === null || item === undefined) continue;
        this.push(item, depth + 1);
        c.lua_rawseti(L, -2, BigInt(++i));
      }
    } else if (isRecord(value)) {
      c.lua_createtable(L, 0, Object.keys(value).length);
      for (const [k, v] of Object.entries(value)) {
        if (v === null || v === undefined) continue;
        this.push(v, depth + 1);
        c.lua_setfield(L, -2, k);
      }
    } else c.lua_pushnil(L);
  }
}

const MAX_DEPTH = 100;

type CallResult = { ok: true; value: unknown } | { ok: false; message: string; limit: boolean };

// LUA_ERRMEM is 4 in Lua 5.4.
const LUA_ERRMEM = 4;

function errorOf(code: number, value: unknown, timeoutMs: number, memoryBytes: number): CallResult {
  const text = typeof value === 'string' ? value : value instanceof Error ? value.message : String(value);
  if (text.includes(TIMEOUT_MARK))
    return { ok: false, limit: true, message: `the script ran longer than ${timeoutMs} ms and was stopped` };
  if (code === LUA_ERRMEM || text === 'not enough memory')
    return {
      ok: false,
      limit: true,
      message: `the script needed more than ${Math.round(memoryBytes / 1024 / 1024)} MiB and was stopped`,
    };
  return { ok: false, limit: false, message: text.split('\n')[0] ?? text };
}

// The script's answer, checked as untrusted: a table with a known status and a string message.
function fromScript(id: string, value: unknown): HealthResult {
  if (!isRecord(value))
    return health(
      'Unknown',
      RuleReasons.evaluationFailed,
      `HealthRule ${id}: the script returned ${value === undefined || value === null ? 'nothing' : typeof value}, not a table {status = ..., message = ...}`,
    );
  const status = value['status'];
  const message = typeof value['message'] === 'string' ? value['message'] : '';
  if (typeof status !== 'string' || !STATUSES.has(status))
    return health(
      'Unknown',
      RuleReasons.evaluationFailed,
      `HealthRule ${id}: the script returned status ${JSON.stringify(status ?? null).slice(0, 40)}; expected one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown`,
    );
  // Missing is Argo CD's word for an object that is not there; this one is, so we cannot tell.
  if (status === 'Missing')
    return health('Unknown', RuleReasons.luaMissing, message || `HealthRule ${id}: the script says Missing`);
  return health(status as HealthStatus, `Lua${status}`, message || `HealthRule ${id}: ${status}`);
}
