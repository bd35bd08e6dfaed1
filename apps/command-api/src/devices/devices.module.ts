import { Module } from '@nestjs/common';
import { ListDevicesHttpController } from './list-devices.http.controller';

@Module({ controllers: [ListDevicesHttpController] })
export class DevicesModule {}
