export * from './data-source';
export * from './database-errors';
export { DatabaseError } from 'pg';
export * from './embedded-postgres';
export { listen, pgPool } from './pg-pool';
export type { Listener, ListenHandlers, PgClient } from './pg-pool';
export { MIGRATIONS } from './migrations';
export * from './repositories';
export * from './key-set.projection';
export * from './key-set.projector';
export * from './replay';
// The connection and transaction types of the data layer (TypeORM's role, docs/architecture.md): the rest of the
// code base names them through persistence, never imports typeorm itself.
export { DataSource, EntityManager } from 'typeorm';
export type { QueryRunner } from 'typeorm';
