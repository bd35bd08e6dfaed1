import { CredentialStateEntity } from './credential-state.entity';
import { EventEntity } from './event.entity';
import { KeySetCredentialEntity } from './key-set.entity';
import { OrgStreamEntity } from './org-stream.entity';
import { OrganizationEntity } from './organization.entity';

export { CredentialRow } from './credential-row';
export { CredentialStateEntity, EventEntity, KeySetCredentialEntity, OrgStreamEntity, OrganizationEntity };

export const ENTITIES = [
  OrganizationEntity,
  OrgStreamEntity,
  EventEntity,
  CredentialStateEntity,
  KeySetCredentialEntity,
];
