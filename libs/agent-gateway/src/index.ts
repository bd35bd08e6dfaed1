export * from './agent-gateway.module';
export * from './agent-key-set.reader';
export * from './agents.gateway';
export * from './org-fan-out';
export * from './revocation-watcher';
