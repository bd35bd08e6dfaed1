import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { InputPolicy } from '@keystream/credentials';
import { openApiSchemas } from './openapi-schemas';
import { INPUT_POLICY } from './tokens';

/**
 * /openapi.json: OpenAPI 3.0.3, checked by a real validator and used to generate a working client in the
 * contract specs. Routes document themselves with the decorators of http/api-docs.ts; components that
 * decorators cannot express come from openapi-schemas.ts.
 */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.0.3')
    .setTitle('Keystream command API')
    .setDescription(
      'Organization AI-provider credentials: add, edit, remove, batch save. Errors are application/problem+json with per-field errors.',
    )
    .setVersion('1')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          "An access token from the deployment's identity provider (or a development token): `sub`, the org claim, the role claim (admin, member or operator after the deployment's role map), `exp`.",
      },
      'bearer',
    )
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  doc.components = {
    ...doc.components,
    schemas: { ...(doc.components?.schemas ?? {}), ...openApiSchemas(app.get<InputPolicy>(INPUT_POLICY)) },
  };
  // The metrics controller lives in libs/observability (no swagger there): its response is described here.
  const metrics = doc.paths['/metrics']?.get;
  if (metrics) {
    metrics.operationId = 'metrics';
    metrics.summary = 'Prometheus metrics (text exposition format)';
    metrics.responses = { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } };
  }
  SwaggerModule.setup('docs', app, doc, {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    swaggerOptions: { validatorUrl: null },
  });
  return doc;
}
