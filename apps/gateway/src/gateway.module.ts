import { Controller, DynamicModule, Get, Inject, Module, ServiceUnavailableException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AgentGatewayModule, AgentGatewayOptions } from '@keystream/agent-gateway';
import { MetricsController, structuredLogging } from '@keystream/observability';

const DS = Symbol('DS');

@Controller('health')
class GatewayHealthController {
  constructor(@Inject(DS) private readonly ds: DataSource) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const postgres = await this.ds.query('SELECT 1').then(() => 'ok', () => 'down');
    if (postgres !== 'ok') throw new ServiceUnavailableException({ status: 'not ready', checks: { postgres } });
    return { status: 'ok', checks: { postgres } };
  }
}

/** A gateway process: the agent socket gateway fed from Kafka, snapshots and resumes served from Postgres. */
@Module({})
export class GatewayAppModule {
  static register(opts: AgentGatewayOptions): DynamicModule {
    return {
      module: GatewayAppModule,
      imports: [structuredLogging('keystream-gateway'), AgentGatewayModule.register(opts)],
      controllers: [GatewayHealthController, MetricsController],
      providers: [{ provide: DS, useValue: opts.dataSource }],
    };
  }
}
