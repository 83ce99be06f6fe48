// Public API of the chain SDK core.
export * from './begin.js';
export * from './chain.js';
export * from './connection-timer.js';
export * from './ctx.js';
export * from '../../api/errors.js';
export * from './grpc-metadata.js';
export * from './log.js';
export * from './registry-chain.js';
export * from './serializer.js';
export * from './serve-networkservice.js';
export * from './serve-registry.js';
