/** DI tokens for the ports and values the app is assembled from. */
export const CONFIG = Symbol('CONFIG');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const TOKEN_VERIFIER = Symbol('TOKEN_VERIFIER');
/** The envelope-encryption vault (SecretVault): data keys, fingerprints, opening. */
export const SECRET_VAULT = Symbol('SECRET_VAULT');
export const CHANGE_FEED = Symbol('CHANGE_FEED');
export const CLOCK = Symbol('CLOCK');

export type Clock = () => Date;
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
/** Named dependency checks for /health/ready; each rejects when its dependency is unusable. */
export type ReadinessChecks = Readonly<Record<string, () => Promise<void>>>;
/** The credential input rules' deployment settings (InputPolicy: allowed Azure hosts, Bedrock regions). */
export const INPUT_POLICY = Symbol('INPUT_POLICY');
