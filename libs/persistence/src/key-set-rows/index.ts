export * from './consumer-rows';
export * from './key-set-heads';
export * from './key-set-row.writer';
