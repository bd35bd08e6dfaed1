export * from './fake-keys';
export * from './infra';
