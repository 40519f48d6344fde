/**
 * HealthRules on the control plane: the status of a HealthRule (its `Ready` condition says whether
 * it compiled, and why not), and which Releases a rule change re-assesses.
 */
import { ConditionTypes, API_VERSION, STATUS_FIELD_MANAGER } from '../../api/v1alpha1/constants.ts';
import type { Condition, HealthRule, Release } from '../../api/v1alpha1/schema.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { RuleState } from '../../health/rules/registry.ts';

/** releasesUsingKind lists the Releases whose status lists an object of this group and kind. */
export function releasesUsingKind(releases: Iterable<Release>, group: string, kind: string): Release[] {
  const out: Release[] = [];
  for (const r of releases) {
    if ((r.status?.resources ?? []).some((e) => e.group === group && e.kind === kind)) out.push(r);
  }
  return out;
}

/** readyCondition is a HealthRule's Ready condition for a state, keeping the transition time when the status holds. */
export function ruleReadyCondition(rule: HealthRule, state: RuleState, now: Date): Condition {
  const previous = rule.status?.conditions?.find((c) => c.type === ConditionTypes.ready);
  const status = state.ready ? 'True' : 'False';
  return {
    type: ConditionTypes.ready,
    status,
    reason: state.reason,
    message: state.message,
    observedGeneration: rule.metadata.generation ?? 0,
    lastTransitionTime:
      previous?.status === status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : now.toISOString(),
  };
}

/** HealthRuleStatusWriter writes a HealthRule's Ready condition when it changed. */
export class HealthRuleStatusWriter {
  constructor(private readonly client: KubeClient) {}

  /** write merges the Ready condition into the HealthRule's status (a no-op when it is already so). */
  async write(rule: HealthRule, state: RuleState, now: Date = new Date()): Promise<void> {
    const condition = ruleReadyCondition(rule, state, now);
    const previous = rule.status?.conditions?.find((c) => c.type === ConditionTypes.ready);
    if (
      previous &&
      previous.status === condition.status &&
      previous.reason === condition.reason &&
      previous.message === condition.message &&
      previous.observedGeneration === condition.observedGeneration
    )
      return;
    const others = (rule.status?.conditions ?? []).filter((c) => c.type !== ConditionTypes.ready);
    try {
      await this.client.request({
        method: 'PATCH',
        path: `/apis/${API_VERSION}/healthrules/${encodeURIComponent(rule.metadata.name)}/status`,
        query: { fieldManager: STATUS_FIELD_MANAGER },
        body: {
          status: { observedGeneration: rule.metadata.generation ?? 0, conditions: [...others, condition] },
        },
        contentType: 'application/merge-patch+json',
        signal: AbortSignal.timeout(30_000),
      });
    } catch (cause) {
      throw new Error(`writing the status of HealthRule/${rule.metadata.name} failed`, { cause });
    }
  }
}
