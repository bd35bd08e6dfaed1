import type { ProvidedService } from './infra';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __keystreamPg?: ProvidedService }).__keystreamPg?.stop();
}
