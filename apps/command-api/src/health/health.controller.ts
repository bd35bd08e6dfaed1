import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '../http/auth.guard';
import { DATA_SOURCE } from '../tokens';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready only when Postgres answers and every migration is applied. */
  @Get('ready')
  async ready() {
    try {
      await this.ds.query('SELECT 1');
      if (await this.ds.showMigrations()) throw new Error('pending migrations');
    } catch {
      throw new ServiceUnavailableException('the database is not reachable or not migrated');
    }
    return { status: 'ok', checks: { postgres: 'ok' } };
  }
}
