export * from './metrics';
export * from './metrics.controller';
export * from './http-metrics.middleware';
export * from './scrape-gauge';
export * from './logging';
export * from './auth-logging';
