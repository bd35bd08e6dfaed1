import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Principal } from '@keystream/auth';
import type { KeystreamConfig } from '@keystream/config';
import { DataSource, organizations } from '@keystream/persistence';
import { CONFIG, DATA_SOURCE } from '../tokens';

/**
 * KEYSTREAM_ORG_PROVISIONING=on-first-admin: a verified admin token of an organization nobody created yet creates it
 * with its first write (its identity provider vouches for the org claim). `manual` does nothing here: the write
 * gets 404 org_not_found as before. A deleted org never comes back (the guard answers 410 before this).
 */
@Injectable()
export class OrgProvisioner {
  private readonly log = new Logger('orgs');
  constructor(
    @Inject(CONFIG) private readonly config: KeystreamConfig,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
  ) {}

  async onAdminWrite(principal: Principal): Promise<void> {
    if (this.config.orgProvisioning !== 'on-first-admin' || principal.role !== 'admin') return;
    const { created } = await this.ds.transaction((m) =>
      organizations.create(m, principal.orgId, principal.userId, 'on-first-admin'),
    );
    if (created)
      this.log.log({
        msg: 'organization created on its first admin write',
        orgId: principal.orgId,
        by: principal.userId,
      });
  }
}
