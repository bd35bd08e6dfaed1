export * from './fake-keys';
export * from './infra';
export * from './processes';
export * from './agent-probe';
export * from './scratch-database';
export * from './oidc-provider';
export * from './admin-ui-build';
