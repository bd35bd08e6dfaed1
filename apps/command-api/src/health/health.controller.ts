import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiProblems, ApiRoute } from '../http/api-docs';
import { readinessGauge } from '@keystream/observability';
import { Public } from '../http/auth.guard';
import { DATA_SOURCE, READINESS_CHECKS, ReadinessChecks } from '../tokens';
import { DataSource, readModel } from '@keystream/persistence';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessChecks,
  ) {
    readinessGauge(() => this.ready());
  }

  @Get('live')
  @ApiRoute('live', 'The process is up')
  @ApiJson(200, 'Health')
  live() {
    return { status: 'ok' };
  }

  /**
   * Ready only when Postgres answers with every migration applied, and each dependency check (Kafka in distributed
   * mode) passes.
   */
  @Get('ready')
  @ApiRoute('ready', 'Postgres (with every migration) and each dependency answer')
  @ApiJson(200, 'Health')
  @ApiProblems(503)
  async ready() {
    const results: Record<string, string> = {};
    results.postgres = await (async () => {
      await readModel.ping(this.ds);
      if (await this.ds.showMigrations()) throw new Error('pending migrations');
    })().then(
      () => 'ok',
      () => 'down',
    );
    for (const [name, check] of Object.entries(this.checks))
      results[name] = await check().then(
        () => 'ok',
        () => 'down',
      );
    if (Object.values(results).some((r) => r !== 'ok'))
      throw new ServiceUnavailableException({ status: 'not ready', checks: results });
    return { status: 'ok', checks: results };
  }
}
