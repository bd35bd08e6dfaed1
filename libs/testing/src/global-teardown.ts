import type { ProvidedService } from './infra';

export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as { __keystreamServices?: ProvidedService[] }).__keystreamServices ?? [];
  await Promise.all(services.map((s) => s.stop()));
}
