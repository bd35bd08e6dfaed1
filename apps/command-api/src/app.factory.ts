import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { NestExpressApplication } from '@nestjs/platform-express';
import { installHttpMetrics } from '@keystream/observability';
import { AppDependencies, AppModule } from './app.module';
import { edgeHeaders } from './http/edge-headers.middleware';
import { jsonBody } from './http/json-body.middleware';
import { methodNotAllowed } from './http/method-not-allowed.middleware';
import { setupOpenApi } from './openapi';
import { registerScrapeGauges } from './scrape-gauges';

/** Builds the HTTP app around ready dependencies; used by main and by the e2e specs alike. */
export async function createApp(
  deps: AppDependencies,
  logger: LogLevel[] = ['error', 'warn', 'log'],
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(deps), {
    bodyParser: false,
    logger,
    bufferLogs: !!deps.structuredLogs,
  });
  if (deps.structuredLogs) app.useLogger(app.get(PinoLogger));
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  installHttpMetrics(app);
  app.use(edgeHeaders);
  app.use(jsonBody);
  const doc = setupOpenApi(app);
  app.use(methodNotAllowed(doc.paths, { '/docs': ['GET'], '/openapi.json': ['GET'], '/openapi.yaml': ['GET'] }));
  registerScrapeGauges(deps.dataSource, deps.config.mode === 'distributed');
  return app;
}
