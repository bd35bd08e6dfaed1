export * from './change-feed.port';
export * from './in-process-change-feed.adapter';
