export * from './dev-token';
export * from './principal';
export * from './token-verifier';
export * from './key-source';
export * from './revocation';
export * from './token-rate-limiter';
