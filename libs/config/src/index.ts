export * from './keystream.config';
export * from './rate-limits';
