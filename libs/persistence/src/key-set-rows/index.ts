export * from './consumer-rows';
export * from './epoch-notify';
export * from './key-set-heads';
export * from './key-set-row.writer';
export * from './live-key-sets';
export * from './shadow-key-sets';
