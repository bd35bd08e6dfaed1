import { DynamicModule, Module } from '@nestjs/common';
import type { KeystreamConfig } from '@keystream/config';
import { AdminUiController } from './admin-ui.controller';
import { DevSignInController } from './dev-sign-in.controller';
import { developmentSignIn, UiSessionController } from './ui-session.controller';

/**
 * Serves the built admin UI (dist/admin-ui) at /admin, its sign-in settings, and — in development only — its one-click
 * sign-in.
 */
@Module({})
export class AdminUiModule {
  static register(config: KeystreamConfig): DynamicModule {
    return {
      module: AdminUiModule,
      controllers: [
        AdminUiController,
        UiSessionController,
        ...(developmentSignIn(config) ? [DevSignInController] : []),
      ],
    };
  }
}
