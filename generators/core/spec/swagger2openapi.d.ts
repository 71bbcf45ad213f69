declare module 'swagger2openapi' {
  interface ConvertResult {
    openapi: Record<string, unknown>;
  }
  export function convertObj(spec: unknown, options: Record<string, unknown>): Promise<ConvertResult>;
}
