export * from './dev-token';
export * from './principal';
export * from './token-verifier';
