import { Module } from '@nestjs/common';
import { AdminUiController } from './admin-ui.controller';

/** Serves the built admin UI (dist/admin-ui) at /admin. */
@Module({ controllers: [AdminUiController] })
export class AdminUiModule {}
