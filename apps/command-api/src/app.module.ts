import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AgentGatewayModule } from '@keystream/agent-gateway';
import { KeystreamConfig } from '@keystream/config';
import { exportMetrics, keyFetchWarning, MetricsController, structuredLogging } from '@keystream/observability';
import { TokenVerifier } from '@keystream/auth';
import { InProcessChangeFeedAdapter } from '@keystream/event-log';
import { inputPolicy } from '@keystream/credentials';
import { DataSource, localSecretVault } from '@keystream/persistence';
import { COMMIT_TARGET } from './credentials/credential-command.service';
import { CredentialsModule } from './credentials/credentials.module';
import { DevicesModule } from './devices/devices.module';
import { MembersModule } from './members/members.module';
import { OrgProvisioner } from './orgs/org-provisioner';
import { OrgsModule } from './orgs/orgs.module';
import { AdminUiModule } from './admin-ui/admin-ui.module';
import { HealthController } from './health/health.controller';
import { AuthGuard } from './http/auth.guard';
import { WriteRateGuard } from './http/write-rate.guard';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { SafeBodyInterceptor } from './http/safe-body.interceptor';
import {
  CHANGE_FEED,
  CLOCK,
  CONFIG,
  DATA_SOURCE,
  INPUT_POLICY,
  READINESS_CHECKS,
  ReadinessChecks,
  SECRET_VAULT,
  TOKEN_VERIFIER,
} from './tokens';

export interface AppDependencies {
  readonly config: KeystreamConfig;
  readonly dataSource: DataSource;
  readonly changeFeed: InProcessChangeFeedAdapter;
  /** Extra readiness checks (distributed: Kafka). */
  readonly readiness?: ReadinessChecks;
  /** JSON logs with request ids (the server); tests keep Nest's plain logger. */
  readonly structuredLogs?: boolean;
}

@Module({})
export class AppModule {
  static register(deps: AppDependencies): DynamicModule {
    exportMetrics('command', 'auth');
    const verifier = new TokenVerifier(deps.config.auth, keyFetchWarning());
    // One vault (and DEK cache) per process, shared by the command side and the in-process gateway.
    const vault = localSecretVault(deps.dataSource, deps.config.masterKey, deps.config.previousMasterKeys);
    const embedded = deps.config.mode === 'embedded';
    const core = {
      module: class CoreModule {},
      global: true,
      providers: [
        { provide: CONFIG, useValue: deps.config },
        { provide: DATA_SOURCE, useValue: deps.dataSource },
        { provide: TOKEN_VERIFIER, useValue: verifier },
        { provide: SECRET_VAULT, useValue: vault },
        { provide: CHANGE_FEED, useValue: deps.changeFeed },
        { provide: CLOCK, useValue: () => new Date() },
        { provide: READINESS_CHECKS, useValue: deps.readiness ?? {} },
        { provide: INPUT_POLICY, useValue: inputPolicy(deps.config.input) },
        // Embedded mode projects the key set in the command's own transaction; distributed mode writes the outbox.
        { provide: COMMIT_TARGET, useValue: embedded ? 'projection' : 'outbox' },
      ],
      exports: [
        CONFIG,
        INPUT_POLICY,
        DATA_SOURCE,
        TOKEN_VERIFIER,
        SECRET_VAULT,
        CHANGE_FEED,
        CLOCK,
        COMMIT_TARGET,
        READINESS_CHECKS,
      ],
    };
    // Embedded mode: the agent gateway runs in this process and learns of commits in-process.
    // Distributed mode: gateways are their own processes, fed by Kafka.
    const gateway = embedded
      ? [
          AgentGatewayModule.register({
            dataSource: deps.dataSource,
            vault,
            verifier,
            feed: deps.changeFeed,
            rateLimits: deps.config.rateLimits,
          }),
        ]
      : [];
    return {
      module: AppModule,
      imports: [
        ...(deps.structuredLogs ? [structuredLogging(embedded ? 'keystream' : 'keystream-command-api')] : []),
        core,
        CredentialsModule,
        DevicesModule,
        MembersModule,
        OrgsModule,
        AdminUiModule.register(deps.config),
        ...gateway,
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        OrgProvisioner,
        { provide: APP_GUARD, useClass: AuthGuard },
        // After AuthGuard (global guards run in this order): only authenticated writes spend the budget.
        { provide: APP_GUARD, useClass: WriteRateGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_INTERCEPTOR, useClass: SafeBodyInterceptor },
      ],
    };
  }
}
