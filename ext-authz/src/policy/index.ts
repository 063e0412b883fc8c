/**
 * Phase 3, authorization: the native policies (Istio AuthorizationPolicy semantics) and, when
 * configured, a Rego policy. A request is allowed only when every configured engine allows it:
 * native DENY rules first, then native ALLOW rules, then Rego.
 */
import type { AuthzConfig } from '../config/types.js';
import type { Facts } from './facts.js';
import type { PolicyInputSource } from './input.js';
import { evaluateIntentions, type IntentionsConfig } from './intentions.js';
import { evaluateNative, type NativeOptions, type NativePolicy, type PolicyDecisionSpec } from './native.js';
import { RegoPolicy } from './rego.js';

export interface PolicyDecision {
  allowed: boolean;
  /** The policy that decided (`<name>` or `rego:<entrypoint>`), if one did. */
  policy?: string;
  reason: string;
  /** A DENY rule matched: authenticating would not help, so never answer 401 for it. */
  explicitDeny: boolean;
  /** The form of the denial the deciding policy asked for (step_up, throttle, read_only). */
  decision?: PolicyDecisionSpec;
}

export class PolicyEngine {
  /** `rego:<entrypoint>`, the decision log's policy name for Rego's decisions. */
  private readonly regoName: string | undefined;
  // The reason of each native rule, made once (not a new string per Check; the decision log
  // writes it on every Check): policy name -> per rule.
  private readonly allowReasons = new Map<string, string[]>();
  private readonly denyReasons = new Map<string, string[]>();
  // The last native and Rego reasons joined: the same pair comes back Check after Check.
  private lastReasons: [string, string, string] = ['', '', ''];

  private constructor(
    private readonly policies: readonly NativePolicy[],
    private readonly rego: RegoPolicy | undefined,
    private readonly intentions: IntentionsConfig | undefined,
  ) {
    this.regoName = rego && `rego:${rego.entrypoint}`;
    for (const p of policies) (p.action === 'DENY' ? this.denyReasons : this.allowReasons).set(p.name, p.rules.map((_, i) => `${p.action} policy "${p.name}" rule ${i} matched`));
  }

  /** `<native reason>; <rego reason>`. */
  private bothReasons(native: string, rego: string): string {
    const last = this.lastReasons;
    if (last[0] === native && last[1] === rego) return last[2];
    const both = `${native}; ${rego}`;
    this.lastReasons = [native, rego, both];
    return both;
  }

  /** A native rule's reason (its text depends only on the action, the policy name and the rule index). */
  private ruleReason(reasons: Map<string, string[]>, action: string, policy: string, rule: number): string {
    return reasons.get(policy)?.[rule] ?? `${action} policy "${policy}" rule ${rule} matched`;
  }

  static async create(config: AuthzConfig['policy'], options: { opaPath?: () => Promise<string> } = {}): Promise<PolicyEngine> {
    const rego = config.rego ? await RegoPolicy.load(config.rego, options.opaPath) : undefined;
    return new PolicyEngine(config.policies, rego, config.intentions);
  }

  /** The Rego decision cache's counters, when there is one. */
  get regoDecisionCacheStats(): { hits: number; misses: number } | undefined {
    return this.rego?.decisionCacheOn ? this.rego.decisionCacheStats : undefined;
  }

  get summary(): { native: number; allow: number; deny: number; intentions?: number; rego?: string; rego_input?: string; rego_eval?: string; rego_decision_cache?: string } {
    return {
      native: this.policies.length,
      ...(this.intentions ? { intentions: this.intentions.rules.length } : {}),
      allow: this.policies.filter((p) => p.action === 'ALLOW').length,
      deny: this.policies.filter((p) => p.action === 'DENY').length,
      ...(this.rego ? { rego: `${this.rego.origin} (${this.rego.entrypoint})`, rego_input: this.rego.input.description, rego_eval: this.rego.evaluation, rego_decision_cache: this.rego.decisionCache } : {}),
    };
  }

  evaluate(facts: Facts, input: PolicyInputSource, options: NativeOptions = {}): PolicyDecision {
    const native = evaluateNative(this.policies, facts, options);
    if (native.effect === 'deny' && native.policy !== undefined) {
      const decision = this.policies.find((p) => p.name === native.policy)?.decision;
      return { allowed: false, policy: native.policy, reason: this.ruleReason(this.denyReasons, 'DENY', native.policy, native.rule), explicitDeny: true, ...(decision ? { decision } : {}) };
    }
    // Intentions gate service-to-service calls after the DENY policies: a deny intention (or the
    // default deny) refuses here; an allow intention does not skip the ALLOW policies or Rego.
    let intentionReason = '';
    let intention: string | undefined;
    if (this.intentions) {
      const it = evaluateIntentions(this.intentions, facts);
      if (!it.allowed) return { allowed: false, policy: it.name, reason: it.reason, explicitDeny: true };
      intentionReason = `${it.reason}; `;
      intention = it.name;
    }
    if (native.effect === 'deny') return { allowed: false, reason: `${intentionReason}${native.why}`, explicitDeny: false };
    const nativeWhy = native.policy !== undefined ? this.ruleReason(this.allowReasons, 'ALLOW', native.policy, native.rule) : native.why;
    const nativeReason = intentionReason ? `${intentionReason}${nativeWhy}` : nativeWhy;
    const decidedBy = native.policy ?? intention;
    if (!this.rego) return { allowed: true, ...(decidedBy !== undefined ? { policy: decidedBy } : {}), reason: nativeReason, explicitDeny: false };
    const rego = this.rego.evaluate(input);
    return {
      allowed: rego.allowed,
      policy: this.regoName!,
      reason: this.policies.length > 0 ? this.bothReasons(nativeReason, rego.reason) : rego.reason,
      explicitDeny: !rego.allowed && rego.decision !== undefined,
      ...(rego.decision ? { decision: rego.decision } : {}),
    };
  }
}

export { evaluateIntentions, parseIntentions, precedenceOf, sourceServiceOf, destinationServiceOf, type Intention, type IntentionsConfig } from './intentions.js';
export { evaluateNative, parseNativePolicies, parseScoreRange, SAFE_METHODS, type NativePolicy, type PolicyDecisionSpec, type ScoreRange } from './native.js';
export { factsOf, type Facts } from './facts.js';
export { policyInput, policyInputOf, policyInputJson, policyInputWriter, type PolicyInput, type PolicyInputSource, type PolicyInputWriter, type RiskSource } from './input.js';
export { inputPathsOf, selectionOf, selectedJson, selectionWriter, type InputPaths, type InputSelection, type SelectionWriter } from './input-paths.js';
export { RegoPolicy, untar, interpretRegoResult, regoInputPaths } from './rego.js';
