export * from './auth-config';
export * from './keystream.config';
export * from './rate-limits';
export * from './timeouts';
export * from './input-settings';
export * from './org-provisioning';
