import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RevocationWatcher } from '@keystream/agent-gateway';
import type { KeystreamConfig } from '@keystream/config';
import type { SecretVault } from '@keystream/crypto';
import { CONFIG, DATA_SOURCE, SECRET_VAULT } from '../tokens';
import { DataSource } from '@keystream/persistence';

/**
 * Distributed mode: a command-api process holds data keys it created (for up to the cache TTL). When any process
 * deletes an organization, this one hears it on the revocation channel (the gateways' path) and forgets every key
 * of the org at once. Embedded mode needs none: the in-process gateway's watcher forgets them in the same vault.
 */
@Injectable()
export class OrgDeletionListener implements OnModuleInit, OnModuleDestroy {
  private watcher?: RevocationWatcher;

  constructor(
    @Inject(CONFIG) private readonly config: KeystreamConfig,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_VAULT) private readonly vault: SecretVault,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.mode !== 'distributed') return;
    const log = new Logger('orgs');
    this.watcher = new RevocationWatcher(this.ds, (e) =>
      log.error(`org deletion listener: ${(e as Error)?.name ?? 'error'}`),
    );
    await this.watcher.start((orgId, userId) => userId === undefined && this.vault.forgetOrg(orgId));
  }

  onModuleDestroy(): void {
    this.watcher?.stop();
  }
}
