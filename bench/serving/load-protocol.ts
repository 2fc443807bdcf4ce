/** What the bench asks of the load-client process, and what it reports back. */
export type LoadSpec =
  | {
      kind: 'http';
      port: number;
      path: string;
      headers: Record<string, string>;
      bodyBase64: string;
      concurrency: number;
      warmupMs: number;
      durationMs: number;
    }
  | {
      kind: 'grpc';
      address: string;
      /** A ModelInferRequest without raw_input_contents, which travels as base64 beside it. */
      request: Record<string, unknown>;
      rawInputsBase64: string[];
      concurrency: number;
      warmupMs: number;
      durationMs: number;
    };

export interface LoadResult {
  completed: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** CPU cores the load client itself used while measuring: on a small machine it competes with the server. */
  clientCores: number;
  firstError?: string;
}
