export * from './dev-token';
export * from './principal';
export * from './token-verifier';
export * from './revocation';
export * from './token-rate-limiter';
