import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiJson, ApiOrgParam, ApiProblems, ApiRoute } from '../http/api-docs';
import { DataSource, devices, orgStreams, readModel } from '@keystream/persistence';
import { RequireRole } from '../http/auth.guard';
import { DATA_SOURCE } from '../tokens';

@ApiTags('devices')
@ApiBearerAuth()
@Controller('v1/orgs/:orgId/devices')
export class ListDevicesHttpController {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  /** The rollout view: which devices hold the latest key set, and when each was last seen. */
  @Get()
  @RequireRole('admin')
  @ApiOrgParam()
  @ApiProblems(400, 401, 403, 404, 413, 422, 503)
  @ApiRoute('listDevices', "Each agent device's applied version and last contact; how many hold the latest keys")
  @ApiJson(200, 'Devices')
  async list(@Param('orgId') orgId: string) {
    const head = await this.ds.transaction((m) => orgStreams.head(m, orgId));
    const epoch = await readModel.keySetEpoch(this.ds, orgId);
    const rows = await devices.list(this.ds, orgId);
    const items = rows.map((d) => ({
      deviceId: d.deviceId,
      userId: d.userId,
      appliedVersion: d.appliedVersion,
      epoch: d.epoch,
      connected: d.connected,
      lastSeenAt: d.lastSeenAt,
      upToDate: d.epoch === epoch && d.appliedVersion >= head.version,
    }));
    return {
      orgId,
      version: head.version,
      epoch,
      summary: {
        total: items.length,
        upToDate: items.filter((d) => d.upToDate).length,
        connected: items.filter((d) => d.connected).length,
      },
      devices: items,
    };
  }
}
