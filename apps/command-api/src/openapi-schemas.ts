import {
  awsRegion,
  azureEndpoint,
  InputPolicy,
  LABEL_MAX,
  PROVIDER_IDS,
  PROVIDERS,
  ProviderId,
} from '@keystream/credentials';
import { ANY_PROVIDER_FIELDS, MAX_BATCH_CHANGES } from './credentials/credential-requests';

/**
 * Components of /openapi.json that decorators cannot express: request bodies generated from the provider
 * tables (the validators' own source, so docs and rules cannot drift) and the response bodies. OpenAPI 3.0:
 * a nullable value is `nullable: true`, never a type array.
 */
type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = { type: 'integer', minimum: 0 };
const mapping = (prefix: string) =>
  Object.fromEntries(PROVIDER_IDS.map((id) => [id, `#/components/schemas/${prefix}${id}`]));

/** What the deployment's input policy allows is part of the contract: regions as an enum, endpoint hosts named. */
function policyConstraints(rules: readonly unknown[], policy: InputPolicy): Schema {
  if (rules.includes(awsRegion)) return { enum: [...policy.bedrockRegions].sort() };
  if (rules.includes(azureEndpoint))
    return {
      pattern: '^https://',
      description: `https URL of a host ending in .${policy.azureEndpointSuffixes.join(', .')}`,
    };
  return {};
}

function fieldProperties(id: ProviderId, nullable: boolean, policy: InputPolicy): Record<string, Schema> {
  const properties: Record<string, Schema> = {};
  for (const f of PROVIDERS[id].fields) {
    const { description: rule, ...constraints } = policyConstraints(f.rules, policy) as { description?: string };
    const desc = [f.description, rule, f.secret ? 'secret: write-only, never returned' : undefined]
      .filter(Boolean)
      .join('; ');
    properties[f.name] = str({
      minLength: 1,
      maxLength: f.maxLength,
      ...constraints,
      description: desc,
      example: f.example,
      ...(f.secret ? { writeOnly: true } : {}),
      ...(nullable && !f.required ? { nullable: true } : {}),
    });
  }
  return properties;
}

function addSchema(id: ProviderId, op: boolean, policy: InputPolicy): Schema {
  const spec = PROVIDERS[id];
  const required = [
    ...(op ? ['op'] : []),
    'provider',
    'label',
    ...spec.fields.filter((f) => f.required).map((f) => f.name),
  ];
  return {
    type: 'object',
    title: spec.section,
    properties: {
      ...(op ? { op: str({ enum: ['add'] }) } : {}),
      provider: str({ enum: [id] }),
      label: str({ minLength: 1, maxLength: LABEL_MAX, description: `Unique within ${spec.section}` }),
      ...fieldProperties(id, false, policy),
    },
    required,
    additionalProperties: false,
  };
}

/**
 * An edit names any fields of the credential's provider; omitted = unchanged (secrets too), null = clear an optional
 * one.
 */
function editProperties(policy: InputPolicy): Record<string, Schema> {
  const all: Record<string, Schema> = {};
  for (const id of PROVIDER_IDS) Object.assign(all, fieldProperties(id, true, policy));
  for (const [name, s] of Object.entries(all)) {
    const { maxLength, clearable } = ANY_PROVIDER_FIELDS.get(name)!;
    // The union says only what holds for the field in every provider (what editShapeErrors checks before If-Match).
    const { nullable: _n, enum: _e, pattern: _p, ...rest } = s;
    all[name] = {
      ...rest,
      maxLength,
      ...(clearable ? { nullable: true } : {}),
      description: `${String(s.description)}; only for providers that have this field`,
    };
  }
  return {
    provider: str({ enum: [...PROVIDER_IDS], description: 'Optional; must be the credential’s provider' }),
    label: str({ minLength: 1, maxLength: LABEL_MAX }),
    ...all,
  };
}

const fieldError: Schema = {
  type: 'object',
  required: ['field', 'code', 'message'],
  properties: {
    field: str({ description: 'Body field (changes[1].label), header (If-Match) or path parameter' }),
    code: str(),
    message: str(),
  },
};

export function openApiSchemas(policy: InputPolicy): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  for (const id of PROVIDER_IDS) {
    schemas[`Add_${id}`] = addSchema(id, false, policy);
    schemas[`BatchAdd_${id}`] = addSchema(id, true, policy);
  }
  schemas.AddCredentialRequest = {
    oneOf: PROVIDER_IDS.map((id) => ref(`Add_${id}`)),
    discriminator: { propertyName: 'provider', mapping: mapping('Add_') },
  };
  schemas.EditCredentialRequest = { type: 'object', properties: editProperties(policy), additionalProperties: false };
  schemas.BatchAddChange = {
    oneOf: PROVIDER_IDS.map((id) => ref(`BatchAdd_${id}`)),
    discriminator: { propertyName: 'provider', mapping: mapping('BatchAdd_') },
  };
  schemas.BatchEditChange = {
    type: 'object',
    required: ['op', 'id'],
    properties: { op: str({ enum: ['edit'] }), id: str({ format: 'uuid' }), ...editProperties(policy) },
    additionalProperties: false,
  };
  schemas.BatchRemoveChange = {
    type: 'object',
    required: ['op', 'id'],
    properties: { op: str({ enum: ['remove'] }), id: str({ format: 'uuid' }) },
    additionalProperties: false,
  };
  schemas.BatchRequest = {
    type: 'object',
    required: ['changes'],
    additionalProperties: false,
    properties: {
      changes: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_BATCH_CHANGES,
        items: { oneOf: [ref('BatchAddChange'), ref('BatchEditChange'), ref('BatchRemoveChange')] },
      },
    },
  };
  schemas.FieldError = fieldError;
  schemas.Problem = {
    type: 'object',
    description: 'RFC 9457 problem details (application/problem+json) with per-field errors',
    required: ['type', 'title', 'status', 'code', 'detail', 'errors'],
    properties: {
      type: str({ format: 'uri' }),
      title: str(),
      status: { type: 'integer', minimum: 400, maximum: 599 },
      code: str(),
      detail: str(),
      errors: { type: 'array', items: ref('FieldError') },
      instance: str(),
    },
  };
  schemas.MaskedSecret = {
    type: 'object',
    required: ['last4', 'fingerprint'],
    properties: { last4: str(), fingerprint: str() },
  };
  schemas.Credential = {
    type: 'object',
    required: ['id', 'provider', 'label', 'fields', 'secrets', 'version'],
    properties: {
      id: str({ format: 'uuid' }),
      provider: str({ enum: [...PROVIDER_IDS] }),
      label: str(),
      fields: { type: 'object', additionalProperties: str(), description: 'Non-secret fields' },
      secrets: { type: 'object', additionalProperties: ref('MaskedSecret'), description: 'Secret fields, masked' },
      version: int,
    },
  };
  schemas.RemovedCredential = {
    type: 'object',
    required: ['id', 'removed'],
    properties: { id: str({ format: 'uuid' }), removed: { type: 'boolean', enum: [true] } },
  };
  schemas.KeySet = {
    type: 'object',
    required: ['orgId', 'version', 'sections'],
    properties: {
      orgId: str(),
      version: int,
      sections: {
        type: 'array',
        items: {
          type: 'object',
          required: ['provider', 'title', 'credentials'],
          properties: {
            provider: str({ enum: [...PROVIDER_IDS] }),
            title: str(),
            credentials: { type: 'array', items: ref('Credential') },
          },
        },
      },
    },
  };
  schemas.CredentialWritten = {
    type: 'object',
    required: ['credential', 'version'],
    properties: { credential: ref('Credential'), version: int },
  };
  schemas.CredentialRemoved = { type: 'object', required: ['version'], properties: { version: int } };
  schemas.BatchSaved = {
    type: 'object',
    required: ['version', 'credentials'],
    properties: {
      version: int,
      credentials: { type: 'array', items: { oneOf: [ref('Credential'), ref('RemovedCredential')] } },
    },
  };
  Object.assign(schemas, responseSchemas());
  return schemas;
}

function responseSchemas(): Record<string, Schema> {
  const masked = { type: 'object', additionalProperties: { allOf: [ref('MaskedSecret')], nullable: true } };
  return {
    CredentialHistory: {
      type: 'object',
      required: ['orgId', 'credentialId', 'entries', 'truncated'],
      properties: {
        orgId: str(),
        credentialId: str({ format: 'uuid' }),
        truncated: { type: 'boolean' },
        entries: {
          type: 'array',
          items: {
            type: 'object',
            required: ['version', 'type', 'occurredAt', 'actor', 'changes'],
            properties: {
              version: int,
              type: str({ enum: ['CredentialAdded', 'CredentialEdited', 'CredentialRemoved'] }),
              occurredAt: str({ format: 'date-time' }),
              actor: { type: 'object', required: ['userId'], properties: { userId: str() } },
              batch: {
                type: 'object',
                required: ['id', 'size'],
                properties: { id: str({ format: 'uuid' }), size: int },
              },
              changes: {
                type: 'object',
                properties: {
                  label: str(),
                  fields: { type: 'object', additionalProperties: str({ nullable: true }) },
                  secrets: masked,
                },
              },
            },
          },
        },
      },
    },
    Devices: {
      type: 'object',
      required: ['orgId', 'version', 'epoch', 'summary', 'devices'],
      properties: {
        orgId: str(),
        version: int,
        epoch: int,
        summary: {
          type: 'object',
          required: ['total', 'upToDate', 'connected'],
          properties: { total: int, upToDate: int, connected: int },
        },
        devices: {
          type: 'array',
          items: {
            type: 'object',
            required: ['deviceId', 'userId', 'appliedVersion', 'epoch', 'connected', 'upToDate'],
            properties: {
              deviceId: str(),
              userId: str(),
              appliedVersion: int,
              epoch: int,
              connected: { type: 'boolean' },
              lastSeenAt: str({ format: 'date-time', nullable: true }),
              upToDate: { type: 'boolean' },
            },
          },
        },
      },
    },
    MemberRevoked: {
      type: 'object',
      required: ['orgId', 'userId', 'revokedAt', 'revokedBy'],
      properties: { orgId: str(), userId: str(), revokedAt: str({ format: 'date-time' }), revokedBy: str() },
    },
    MemberRestored: {
      type: 'object',
      required: ['orgId', 'userId', 'restoredBy', 'revokedAt'],
      properties: {
        orgId: str(),
        userId: str(),
        restoredBy: str(),
        revokedAt: str({ format: 'date-time', description: 'The revocation that was lifted' }),
      },
    },
    CreateOrganizationRequest: {
      type: 'object',
      required: ['orgId'],
      additionalProperties: false,
      properties: { orgId: str({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$' }) },
    },
    Organization: {
      type: 'object',
      required: ['orgId', 'status', 'createdAt'],
      properties: {
        orgId: str(),
        status: str({ enum: ['active', 'deleted'] }),
        createdAt: str({ format: 'date-time' }),
        deletedAt: str({ format: 'date-time' }),
      },
    },
    OrganizationPage: {
      type: 'object',
      required: ['orgs'],
      properties: {
        orgs: { type: 'array', items: ref('Organization') },
        next: str({ description: 'Pass as `after` for the next page' }),
      },
    },
    OrganizationDeleted: {
      type: 'object',
      required: ['orgId', 'deletedAt', 'deletedBy', 'shreddedKeys', 'lastVersion', 'tombstoneVersion'],
      properties: {
        orgId: str(),
        deletedAt: str({ format: 'date-time' }),
        deletedBy: str(),
        shreddedKeys: int,
        lastVersion: int,
        tombstoneVersion: {
          ...int,
          description: 'The OrganizationDeleted event: the only event of the org left in Postgres',
        },
      },
    },
    Health: {
      type: 'object',
      required: ['status'],
      properties: { status: str(), checks: { type: 'object', additionalProperties: str() } },
    },
  };
}
