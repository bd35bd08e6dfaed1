export * from './metrics';
export * from './metrics.controller';
export * from './logging';
export * from './auth-logging';
