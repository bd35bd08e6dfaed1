import { Module } from '@nestjs/common';
import { OrgsHttpController } from './orgs.http.controller';

@Module({ controllers: [OrgsHttpController] })
export class OrgsModule {}
