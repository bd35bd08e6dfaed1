import { Module } from '@nestjs/common';
import { OrgDeletionListener } from './org-deletion.listener';
import { OrgsHttpController } from './orgs.http.controller';

@Module({ controllers: [OrgsHttpController], providers: [OrgDeletionListener] })
export class OrgsModule {}
