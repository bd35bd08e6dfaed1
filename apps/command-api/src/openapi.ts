import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { PROVIDER_IDS, PROVIDERS } from '@keystream/credentials';

type Schema = Record<string, unknown>;

/** Request schemas come from the provider tables, like the validators do, so docs and rules cannot drift. */
function providerSchemas(): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  for (const id of PROVIDER_IDS) {
    const spec = PROVIDERS[id];
    const properties: Record<string, Schema> = {
      provider: { type: 'string', enum: [id] },
      label: { type: 'string', maxLength: 64, description: `Unique within ${spec.section}` },
    };
    for (const f of spec.fields) {
      properties[f.name] = { type: 'string', maxLength: f.maxLength, description: f.description + (f.secret ? ' (secret: write-only)' : ''), example: f.example, writeOnly: f.secret || undefined };
    }
    const required = ['provider', 'label', ...spec.fields.filter((f) => f.required).map((f) => f.name)];
    schemas[`Add_${id}`] = { type: 'object', title: spec.section, properties, required, additionalProperties: false };
  }
  schemas.AddCredentialRequest = { oneOf: PROVIDER_IDS.map((id) => ({ $ref: `#/components/schemas/Add_${id}` })), discriminator: { propertyName: 'provider' } };
  schemas.EditCredentialRequest = {
    type: 'object',
    description: "Any of the credential's fields; omitted = unchanged (secrets too), null = clear an optional field",
    properties: { label: { type: 'string' } },
    additionalProperties: { type: ['string', 'null'] },
  };
  schemas.BatchRequest = {
    type: 'object',
    required: ['changes'],
    properties: {
      changes: {
        type: 'array',
        minItems: 1,
        maxItems: 100,
        items: { type: 'object', required: ['op'], properties: { op: { enum: ['add', 'edit', 'remove'] }, id: { type: 'string', format: 'uuid' } }, additionalProperties: true },
      },
    },
  };
  return schemas;
}

export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Keystream command API')
    .setDescription('Organization AI-provider credentials: add, edit, remove, batch save. Errors are application/problem+json.')
    .setVersion('1')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: "An access token from the deployment's identity provider (or a development token): `sub`, the org claim, the role claim (admin, member or operator after the deployment's role map), `exp`.",
    })
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  doc.components = { ...doc.components, schemas: { ...((doc.components?.schemas ?? {}) as object), ...providerSchemas() } as never };
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
