import { EntityManager } from 'typeorm';
import { IdempotencyKeyEntity } from '../entities';

export interface StoredResponse {
  readonly requestHash: string;
  readonly status: number;
  readonly body: object;
}

export class IdempotencyKeysRepository {
  async find(m: EntityManager, orgId: string, key: string): Promise<StoredResponse | undefined> {
    const row = await m.findOne(IdempotencyKeyEntity, { where: { orgId, key } });
    return row ? { requestHash: row.requestHash, status: row.status, body: row.body } : undefined;
  }

  async save(m: EntityManager, orgId: string, key: string, response: StoredResponse): Promise<void> {
    await m.insert(IdempotencyKeyEntity, { orgId, key, ...response });
  }
}

export const idempotencyKeys = new IdempotencyKeysRepository();
