export * from './key-set-rebuild';
export * from './replay-store';
