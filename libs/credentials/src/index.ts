export * from './commands';
export * from './credential.decider';
export * from './credential-input.validator';
export * from './errors';
export * from './events';
export * from './key-set';
export * from './providers';
export * from './sealed-secret';
