export * from './change-feed.port';
export * from './envelope.codec';
export * from './event-log.port';
export * from './in-process-change-feed.adapter';
export * from './kafka';
export * from './kafka-event-log.adapter';
export * from './outbox-relay';
export * from './log-change-feed.adapter';
