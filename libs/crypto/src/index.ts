export * from './secret-cipher';
export * from './kms.port';
export * from './local-kms.adapter';
export * from './envelope';
export * from './data-key-cache';
export * from './secret-vault';
