// The CNI plugin `nsm-cni` and its per-node daemon (DESIGN section 16).
export * from './config.js';
export * from './daemon.js';
export * from './errors.js';
export * from './install.js';
export * from './plugin.js';
export * from './protocol.js';
export * from './result.js';
