export * from './auth-config';
export * from './keystream.config';
export * from './rate-limits';
export * from './org-provisioning';
