/**
 * HealthRuleRegistry holds the operator's HealthRules by target (group, kind, optional version),
 * compiles them in the sandbox when they are written, and evaluates them for a reconcile: the
 * asynchronous step (`prepare`) runs before the pure status step, which then reads the results
 * synchronously. Results are cached by object uid and resourceVersion and by the rule's uid and
 * generation, so a Release whose objects did not change costs one map lookup per object.
 */
import { isRecord, parseApiVersion, type KubeObject } from '../../api/object.ts';
import { CORE_VERSION_PATTERN, HealthRuleReasons } from '../../api/v1alpha1/constants.ts';
import type { HealthRule } from '../../api/v1alpha1/schema.ts';
import type { HealthResult } from '../result.ts';
import type { RuleSource } from './protocol.ts';
import { RuleReasons } from './result.ts';
import type { RuleSandbox } from './sandbox.ts';

/** RuleTarget is what a HealthRule applies to; `version` undefined covers every version. */
export interface RuleTarget {
  group: string;
  version?: string;
  kind: string;
}

/** RuleState is a HealthRule's Ready condition as the registry sees it. */
export interface RuleState {
  ready: boolean;
  reason: string;
  message: string;
}

/** HealthOverride returns an operator rule's health for a live object, or undefined when no rule applies. */
export type HealthOverride = (obj: KubeObject) => HealthResult | undefined;

/** RULE_CACHE_ENTRIES bounds the cached results (one per live object a rule applies to). */
export const RULE_CACHE_ENTRIES = 50_000;

const CORE_VERSION = new RegExp(CORE_VERSION_PATTERN);

/**
 * parseTarget reads spec.apiVersion and spec.kind: `group/version`, `group` alone for every
 * version, or a bare core version (`v1`) for the core group.
 */
export function parseTarget(apiVersion: string, kind: string): RuleTarget {
  if (apiVersion.includes('/')) {
    const { group, version } = parseApiVersion(apiVersion);
    return { group, version, kind };
  }
  return CORE_VERSION.test(apiVersion)
    ? { group: '', version: apiVersion, kind }
    : { group: apiVersion, kind };
}

/** targetKey is `group/kind` (versions are told apart within it). */
export function targetKey(target: { group: string; kind: string }): string {
  return `${target.group}/${target.kind}`;
}

interface Entry {
  name: string;
  stamp: string;
  target: RuleTarget;
  compiled: boolean;
  state: RuleState;
}

/** HealthRuleRegistry keeps the compiled HealthRules and their cached results. */
export class HealthRuleRegistry {
  private readonly rules = new Map<string, Entry>();
  private readonly cache = new Map<string, { stamp: string; result: HealthResult }>();

  constructor(private readonly sandbox: RuleSandbox) {}

  /** size is the number of HealthRules known (compiled or not). */
  get size(): number {
    return this.rules.size;
  }

  /** upsert compiles a created or changed HealthRule; a bad one is kept out of use and says why. */
  async upsert(rule: HealthRule): Promise<RuleState> {
    const name = rule.metadata.name;
    const stamp = `${rule.metadata.uid ?? ''}/${rule.metadata.generation ?? 0}`;
    const known = this.rules.get(name);
    if (known?.stamp === stamp) return known.state;
    const { spec } = rule;
    const target = parseTarget(spec.apiVersion, spec.kind);
    let source: RuleSource | undefined;
    if (spec.cel && spec.lua === undefined) source = { id: name, cel: spec.cel };
    else if (spec.lua !== undefined && !spec.cel) source = { id: name, lua: spec.lua };
    const error = source
      ? await this.sandbox.compile(source)
      : { field: 'spec', detail: 'exactly one of spec.cel and spec.lua must be set' };
    const state: RuleState = error
      ? {
          ready: false,
          reason:
            error.field === 'spec.lua'
              ? HealthRuleReasons.invalidLua
              : error.field === 'spec'
                ? HealthRuleReasons.invalidSpec
                : HealthRuleReasons.invalidCEL,
          message: `${error.field}: ${error.detail}. Releases keep the built-in or generic rule for ${describeTarget(target)} until this is fixed.`,
        }
      : { ready: true, reason: HealthRuleReasons.compiled, message: `in use for ${describeTarget(target)}` };
    this.rules.set(name, { name, stamp, target, compiled: !error, state });
    return this.stateOf(name) ?? state;
  }

  /** remove forgets a deleted HealthRule. */
  async remove(name: string): Promise<RuleTarget | undefined> {
    const known = this.rules.get(name);
    if (!known) return undefined;
    this.rules.delete(name);
    if (known.compiled) await this.sandbox.forget(name);
    return known.target;
  }

  /** stateOf is a rule's Ready condition, with Superseded when another compiled rule of the same target wins. */
  stateOf(name: string): RuleState | undefined {
    const entry = this.rules.get(name);
    if (!entry) return undefined;
    if (!entry.compiled) return entry.state;
    const winner = this.winnerFor(entry.target.group, entry.target.kind, entry.target.version, true);
    if (winner && winner.name !== name)
      return {
        ready: false,
        reason: HealthRuleReasons.superseded,
        message: `HealthRule ${winner.name} has the same target ${describeTarget(entry.target)} and wins (the first by name)`,
      };
    return entry.state;
  }

  /** sameTarget lists the rules of a group and kind (their status may change with one of them). */
  sameTarget(target: { group: string; kind: string }): string[] {
    return [...this.rules.values()]
      .filter((e) => e.target.group === target.group && e.target.kind === target.kind)
      .map((e) => e.name);
  }

  /** covers tells whether any compiled rule applies to a group and kind (so a Release's objects of it need `prepare`). */
  covers(group: string, kind: string): boolean {
    for (const e of this.rules.values())
      if (e.compiled && e.target.group === group && e.target.kind === kind) return true;
    return false;
  }

  /**
   * prepare evaluates the rules for these live objects (those a rule applies to and whose result is
   * not cached) in one request to the sandbox, and returns the lookup the status step uses.
   */
  async prepare(objects: Iterable<KubeObject | undefined>): Promise<HealthOverride> {
    const results = new WeakMap<KubeObject, HealthResult>();
    const todo: Array<{ obj: KubeObject; rule: Entry; key: string | undefined }> = [];
    if (this.rules.size > 0) {
      for (const obj of objects) {
        if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') continue;
        const { group, version } = parseApiVersion(obj.apiVersion);
        const rule = this.winnerFor(group, obj.kind, version, false);
        if (!rule) continue;
        const meta = isRecord(obj.metadata) ? obj.metadata : undefined;
        const key = meta?.uid && meta.resourceVersion ? `${meta.uid}@${meta.resourceVersion}` : undefined;
        const cached = key ? this.cache.get(key) : undefined;
        if (cached && cached.stamp === `${rule.name}/${rule.stamp}`) results.set(obj, cached.result);
        else todo.push({ obj, rule, key });
      }
    }
    if (todo.length > 0) {
      const evaluated = await this.sandbox.evaluate(
        todo.map(({ obj, rule }) => ({ id: rule.name, obj: obj })),
      );
      todo.forEach(({ obj, rule, key }, i) => {
        const result = evaluated[i];
        if (!result) return;
        results.set(obj, result);
        // A worker that was stopped says nothing about the object: ask again next time.
        if (key && result.reason !== RuleReasons.limitExceeded)
          this.remember(key, `${rule.name}/${rule.stamp}`, result);
      });
    }
    return (obj) => results.get(obj);
  }

  private remember(key: string, stamp: string, result: HealthResult): void {
    this.cache.delete(key);
    this.cache.set(key, { stamp, result });
    // Oldest first: Map keeps insertion order, and a re-read entry is re-inserted above.
    if (this.cache.size > RULE_CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  // A rule naming the version wins over one for every version; among equals, the first by name.
  private winnerFor(
    group: string,
    kind: string,
    version: string | undefined,
    exactVersion: boolean,
  ): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.rules.values()) {
      if (!e.compiled || e.target.group !== group || e.target.kind !== kind) continue;
      if (
        exactVersion
          ? e.target.version !== version
          : e.target.version !== undefined && e.target.version !== version
      )
        continue;
      if (
        !best ||
        (best.target.version === undefined && e.target.version !== undefined) ||
        ((best.target.version === undefined) === (e.target.version === undefined) && e.name < best.name)
      )
        best = e;
    }
    return best;
  }
}

/** describeTarget names a target as an operator writes it: `cert-manager.io/v1 Certificate`, `v1 Service`. */
export function describeTarget(target: RuleTarget): string {
  const group = target.group === '' ? '' : target.group;
  const apiVersion = target.version
    ? group
      ? `${group}/${target.version}`
      : target.version
    : `${group} (every version)`;
  return `${apiVersion} ${target.kind}`;
}
