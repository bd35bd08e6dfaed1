import { Module } from '@nestjs/common';
import { AddCredentialHttpController } from './commands/add-credential.http.controller';
import { EditCredentialHttpController } from './commands/edit-credential.http.controller';
import { RemoveCredentialHttpController } from './commands/remove-credential.http.controller';
import { SaveBatchHttpController } from './commands/save-batch.http.controller';
import { CredentialCommandService } from './credential-command.service';
import { CredentialQueryService } from './credential-query.service';
import { CredentialHistoryHttpController } from './queries/credential-history.http.controller';
import { ListCredentialsHttpController } from './queries/list-credentials.http.controller';

@Module({
  controllers: [
    ListCredentialsHttpController,
    SaveBatchHttpController,
    AddCredentialHttpController,
    EditCredentialHttpController,
    RemoveCredentialHttpController,
    CredentialHistoryHttpController,
  ],
  providers: [CredentialCommandService, CredentialQueryService],
})
export class CredentialsModule {}
