import { Module } from '@nestjs/common';
import { RevokeMemberHttpController } from './revoke-member.http.controller';

@Module({ controllers: [RevokeMemberHttpController] })
export class MembersModule {}
