/** A write's response as remembered for its Idempotency-Key (written and read by the command batch repository). */
export interface StoredResponse {
  readonly requestHash: string;
  readonly status: number;
  readonly body: object;
}
