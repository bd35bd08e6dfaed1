import { Controller, Get, Header, SetMetadata } from '@nestjs/common';
import { registry } from './registry';

/** Prometheus scrape endpoint; public like health (it carries no secret and no org data beyond counts). */
@Controller()
@SetMetadata('keystream:public', true)
export class MetricsController {
  @Get('metrics')
  @Header('Content-Type', registry.contentType)
  async scrape(): Promise<string> {
    return registry.metrics();
  }
}
