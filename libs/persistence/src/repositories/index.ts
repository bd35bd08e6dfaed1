export * from './credential-rows.repository';
export * from './event-rows.repository';
export * from './idempotency-keys.repository';
export * from './org-streams.repository';
export * from './devices.repository';
export * from './revocations.repository';
export * from './credential-history.repository';
export * from './data-keys.repository';
