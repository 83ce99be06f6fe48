#!/usr/bin/env node
// Entry point of the `nsm` command: runs the compiled CLI from dist/.
// The long-running mesh processes tier their code up sooner than V8 would: baseline (Sparkplug) code at a function's
// first call, and optimized code after 50 calls since its last inline-cache change instead of 500. A fresh nsmgr or
// endpoint otherwise runs its Request path in the interpreter and compiles it piece by piece for ~1,000 Requests
// (README, Performance). NSM_V8_FLAGS replaces these flags for any command ('' keeps V8's defaults).
import { setFlagsFromString } from 'node:v8';

const SERVERS = new Set(['nsmgr', 'forwarder', 'nse', 'registry', 'nsmgr-proxy']);
const flags = process.env.NSM_V8_FLAGS ?? (SERVERS.has(process.argv[2] ?? '') ? '--always-sparkplug --minimum-invocations-after-ic-update=50' : '');
for (const f of flags.split(' ').filter(Boolean)) setFlagsFromString(f);
await import('../dist/cmd/main.js');
