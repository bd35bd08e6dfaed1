import { Controller, Get, Inject, Module, OnApplicationShutdown, ServiceUnavailableException } from '@nestjs/common';
import { exportMetrics, MetricsController, readinessGauge, structuredLogging } from '@keystream/observability';
import { ProjectorRunner } from './projector.runner';
import { DataSource, readModel } from '@keystream/persistence';

export const RUNNER = Symbol('RUNNER');
export const DS = Symbol('DS');

@Controller('health')
class ProjectorHealthController {
  constructor(
    @Inject(RUNNER) private readonly runner: ProjectorRunner,
    @Inject(DS) private readonly ds: DataSource,
  ) {
    readinessGauge(() => this.ready());
  }

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Not ready while a gap blocks the projection or Postgres does not answer. */
  @Get('ready')
  async ready() {
    const postgres = await readModel.ping(this.ds).then(
      () => 'ok',
      () => 'down',
    );
    const consumer = this.runner.running ? 'ok' : this.runner.gap ? `stopped: ${this.runner.gap.message}` : 'starting';
    if (postgres !== 'ok' || consumer !== 'ok')
      throw new ServiceUnavailableException({ status: 'not ready', checks: { postgres, consumer } });
    return { status: 'ok', checks: { postgres, consumer }, applied: this.runner.applied };
  }
}

@Module({})
export class ProjectorModule implements OnApplicationShutdown {
  constructor(@Inject(RUNNER) private readonly runner: ProjectorRunner) {}

  static register(runner: ProjectorRunner, ds: DataSource) {
    exportMetrics('projector');
    return {
      module: ProjectorModule,
      imports: [structuredLogging('keystream-projector')],
      controllers: [ProjectorHealthController, MetricsController],
      providers: [
        { provide: RUNNER, useValue: runner },
        { provide: DS, useValue: ds },
      ],
    };
  }

  /** SIGTERM: stop taking batches; the one in flight finishes and commits with its position. */
  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }
}
