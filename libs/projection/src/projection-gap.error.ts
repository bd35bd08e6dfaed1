/**
 * A version past the projection's next one: the projection stops there, because skipping it would silently lose a
 * change.
 */
export class ProjectionGapError extends Error {
  readonly code = 'projection_gap';
  constructor(
    readonly orgId: string,
    readonly applied: number,
    readonly received: number,
  ) {
    super(`Gap in org ${orgId}: projection is at version ${applied}, received ${received}; refusing to skip`);
  }
}
