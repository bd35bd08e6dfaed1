export * from './agent-key-set';
export * from './agent-protocol';
export * from './payload-guards';
