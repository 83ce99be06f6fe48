// The --policy flag (env NSM_POLICY_FILE): a Cedar policy file, loaded and checked when the
// command starts (a missing or malformed file is a usage error naming it).
import { InvalidArgumentError, Option } from 'commander';
import { loadCedarPolicyFile } from '../security/cedar-policy.js';
import type { PolicyEngine } from '../sdk/tools/policy.js';

export function policyOption(): Option {
  return new Option('--policy <file>', 'Cedar policy file: who may Request/Close/Register which network service').env('NSM_POLICY_FILE').argParser((file: string): PolicyEngine => {
    try {
      return loadCedarPolicyFile(file);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}
