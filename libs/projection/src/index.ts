export * from './key-set.fold';
export * from './key-set.projector';
export * from './projection-gap.error';
