export * from './data-source';
export * from './database-errors';
export * from './embedded-postgres';
export * from './entities';
export { MIGRATIONS } from './migrations';
export * from './repositories';
export * from './key-set-rows';
