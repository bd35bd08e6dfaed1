import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** Anything that runs one parameterized statement: the DataSource, a transaction's manager, or a query runner. */
export type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'> | Pick<QueryRunner, 'query'>;
