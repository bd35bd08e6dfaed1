import { mask, MaskedSecret, PROVIDER_IDS, PROVIDERS, ProviderId, StoredCredential } from '@keystream/credentials';

/** A credential as the admin API shows it: every secret reduced to last4 + fingerprint. */
export interface CredentialView {
  readonly id: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, MaskedSecret>>;
  readonly version: number;
}

export interface SectionView {
  readonly provider: ProviderId;
  readonly title: string;
  readonly credentials: readonly CredentialView[];
}

export function toView(c: StoredCredential): CredentialView {
  return {
    id: c.id,
    provider: c.provider,
    label: c.label,
    fields: c.fields,
    secrets: Object.fromEntries(Object.entries(c.secrets).map(([k, s]) => [k, mask(s)])),
    version: c.version,
  };
}

/** All six sections in the UI's order, empty ones included, credentials by label. */
export function toSections(credentials: Iterable<StoredCredential>): SectionView[] {
  const all = [...credentials];
  return PROVIDER_IDS.map((provider) => ({
    provider,
    title: PROVIDERS[provider].section,
    credentials: all
      .filter((c) => c.provider === provider)
      .sort((a, b) => a.label.localeCompare(b.label, 'en') || (a.id < b.id ? -1 : 1))
      .map(toView),
  }));
}
