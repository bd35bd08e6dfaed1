import { InitialSchema1764300000000 } from './1764300000000-initial-schema';
import { Devices1764300000001 } from './1764300000001-devices';
import { Distributed1764300000002 } from './1764300000002-distributed';
import { ReplayShadow1764300000003 } from './1764300000003-replay-shadow';
import { Revocations1764300000004 } from './1764300000004-revocations';
import { DataKeys1764300000005 } from './1764300000005-data-keys';
import { OrgLifecycle1764300000020 } from './1764300000020-org-lifecycle';
import { LabelKey1764300000030 } from './1764300000030-label-key';
import { OrgTombstone1764300000060 } from './1764300000060-org-tombstone';

/** In order. Production and embedded run exactly these; `synchronize` is never used. */
export const MIGRATIONS = [
  InitialSchema1764300000000,
  Devices1764300000001,
  Distributed1764300000002,
  ReplayShadow1764300000003,
  Revocations1764300000004,
  DataKeys1764300000005,
  OrgLifecycle1764300000020,
  LabelKey1764300000030,
  OrgTombstone1764300000060,
];
