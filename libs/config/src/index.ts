export * from './keystream.config';
