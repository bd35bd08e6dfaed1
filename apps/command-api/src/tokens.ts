/** DI tokens for the ports and values the app is assembled from. */
export const CONFIG = Symbol('CONFIG');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const TOKEN_VERIFIER = Symbol('TOKEN_VERIFIER');
export const SECRET_CIPHER = Symbol('SECRET_CIPHER');
export const CHANGE_FEED = Symbol('CHANGE_FEED');
export const CLOCK = Symbol('CLOCK');

export type Clock = () => Date;
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
/** Named dependency checks for /health/ready; each rejects when its dependency is unusable. */
export type ReadinessChecks = Readonly<Record<string, () => Promise<void>>>;
