export * from './key-set.compare';
export * from './key-set.cutover';
export * from './key-set.fold';
export * from './key-set.projector';
export * from './key-set.rebuild';
export * from './projection-gap.error';
