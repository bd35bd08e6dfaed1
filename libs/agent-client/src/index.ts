export * from './agent-client';
export * from './agent-events';
export * from './key-set-cache';
export * from './ordered-applier';
export { isChangesMessage, isSnapshotMessage } from './server-message-guards';
