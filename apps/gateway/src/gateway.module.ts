import { Controller, DynamicModule, Get, Inject, Module, ServiceUnavailableException } from '@nestjs/common';
import { AgentGatewayModule, AgentGatewayOptions } from '@keystream/agent-gateway';
import { MetricsController, readinessGauge, structuredLogging } from '@keystream/observability';
import { DataSource, readModel } from '@keystream/persistence';

const DS = Symbol('DS');
const KAFKA_CHECK = Symbol('KAFKA_CHECK');

@Controller('health')
class GatewayHealthController {
  constructor(
    @Inject(DS) private readonly ds: DataSource,
    @Inject(KAFKA_CHECK) private readonly kafka: () => Promise<void>,
  ) {
    readinessGauge(() => this.ready());
  }

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const checks = {
      postgres: await readModel.ping(this.ds).then(
        () => 'ok',
        () => 'down',
      ),
      kafka: await this.kafka().then(
        () => 'ok',
        () => 'down',
      ),
    };
    if (checks.postgres !== 'ok' || checks.kafka !== 'ok')
      throw new ServiceUnavailableException({ status: 'not ready', checks });
    return { status: 'ok', checks };
  }
}

/** A gateway process: the agent socket gateway fed from Kafka, snapshots and resumes served from Postgres. */
@Module({})
export class GatewayAppModule {
  static register(opts: AgentGatewayOptions, kafkaCheck: () => Promise<void>): DynamicModule {
    return {
      module: GatewayAppModule,
      imports: [structuredLogging('keystream-gateway'), AgentGatewayModule.register(opts)],
      controllers: [GatewayHealthController, MetricsController],
      providers: [
        { provide: DS, useValue: opts.dataSource },
        { provide: KAFKA_CHECK, useValue: kafkaCheck },
      ],
    };
  }
}
