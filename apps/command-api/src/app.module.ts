import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { KeystreamConfig } from '@keystream/config';
import { TokenVerifier } from '@keystream/auth';
import { SecretCipher } from '@keystream/crypto';
import { InProcessChangeFeedAdapter } from '@keystream/event-log';
import { keySetProjection } from '@keystream/persistence';
import { COMMIT_HOOKS, CommitHook } from './credentials/credential-command.service';
import { CredentialsModule } from './credentials/credentials.module';
import { HealthController } from './health/health.controller';
import { AuthGuard } from './http/auth.guard';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { CHANGE_FEED, CLOCK, CONFIG, DATA_SOURCE, SECRET_CIPHER, TOKEN_VERIFIER } from './tokens';

export interface AppDependencies {
  readonly config: KeystreamConfig;
  readonly dataSource: DataSource;
  readonly changeFeed: InProcessChangeFeedAdapter;
}

/** Embedded mode projects the key set inside the command's own transaction: one process, always consistent. */
const inlineProjection: CommitHook = async (m, orgId, events) => {
  await keySetProjection.apply(m, orgId, events);
};

@Module({})
export class AppModule {
  static register(deps: AppDependencies): DynamicModule {
    const core = {
      module: class CoreModule {},
      global: true,
      providers: [
        { provide: CONFIG, useValue: deps.config },
        { provide: DATA_SOURCE, useValue: deps.dataSource },
        { provide: TOKEN_VERIFIER, useValue: new TokenVerifier(deps.config.auth) },
        { provide: SECRET_CIPHER, useValue: new SecretCipher(deps.config.masterKey) },
        { provide: CHANGE_FEED, useValue: deps.changeFeed },
        { provide: CLOCK, useValue: () => new Date() },
        { provide: COMMIT_HOOKS, useValue: [inlineProjection] },
      ],
      exports: [CONFIG, DATA_SOURCE, TOKEN_VERIFIER, SECRET_CIPHER, CHANGE_FEED, CLOCK, COMMIT_HOOKS],
    };
    return {
      module: AppModule,
      imports: [core, CredentialsModule],
      controllers: [HealthController],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}
