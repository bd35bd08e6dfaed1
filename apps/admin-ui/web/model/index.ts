/**
 * The page's state logic, free of React and the DOM: the key set as the server sent it, the admin's pending
 * changes on top of it, turning a form into a change, one batch out of the changes, a server problem back onto
 * the right change and field, and re-basing the changes onto a newer key set after someone else saved.
 *
 * Validation is the API's own: the provider tables and validateCredentialInput come from libs/credentials
 * (relative imports of the pure modules only; the package index would pull node:crypto into the bundle).
 */
export { PROVIDER_IDS, PROVIDERS } from '../../../../libs/credentials/src/providers';
export type { ProviderId, ProviderSpec } from '../../../../libs/credentials/src/providers';
export type { FieldError } from '../../../../libs/credentials/src/errors';
export * from './server';
export * from './changes';
export * from './validation';
export * from './drafts';
export * from './batch';
export * from './remote';
