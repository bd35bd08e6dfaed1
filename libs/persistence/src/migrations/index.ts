import { InitialSchema1764300000000 } from './1764300000000-initial-schema';

/** In order. Production and embedded run exactly these; `synchronize` is never used. */
export const MIGRATIONS = [InitialSchema1764300000000];
