import type { DETECT_RULE_IDS } from '@bulwark/protocol';
import type { BodyOf, Call } from '../types.js';

/** A detection rule's id. */
export type DetectRuleId = (typeof DETECT_RULE_IDS)[number];

/** Detection rules and a device's baselines (decision 0034). */
export function detectApi(call: Call) {
  return {
    /** Every rule with the organization's settings and the shipped defaults. */
    rules: () => call('listDetectRules'),
    /** One rule. */
    rule: (id: DetectRuleId) => call('getDetectRule', { params: { id } }),
    /** Enables, disables or tunes a rule for the organization. */
    updateRule: (id: DetectRuleId, body: BodyOf<'updateDetectRule'>) =>
      call('updateDetectRule', { params: { id }, body }),
    /** A device's counters, baselines, bands and fired rules on the answering node. */
    device: (id: string) => call('getDeviceDetect', { params: { id } }),
  };
}
