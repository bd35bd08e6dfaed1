import { CredentialStateEntity } from './credential-state.entity';
import { EventEntity } from './event.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { KeySetCredentialEntity, KeySetEntity } from './key-set.entity';
import { OrgStreamEntity } from './org-stream.entity';
import { OrganizationEntity } from './organization.entity';

export { CredentialRow } from './credential-row';
export { CredentialStateEntity, EventEntity, IdempotencyKeyEntity, KeySetCredentialEntity, KeySetEntity, OrgStreamEntity, OrganizationEntity };

export const ENTITIES = [
  OrganizationEntity,
  OrgStreamEntity,
  EventEntity,
  CredentialStateEntity,
  KeySetCredentialEntity,
  KeySetEntity,
  IdempotencyKeyEntity,
];
