// Bench phase `not-yet`: the figures issue 16 asks for that no phase measures yet, reported as missing
// with the reason, so the tables show them instead of leaving them out.
import { missing, wanted, type Phase } from '../lib/harness.js';

const NOT_YET: Record<string, string> = {
};

export const notYet: Phase = {
  name: 'not-yet',
  run: async () => {
    for (const [name, reason] of Object.entries(NOT_YET)) if (wanted(name)) missing(name, reason);
  },
};
