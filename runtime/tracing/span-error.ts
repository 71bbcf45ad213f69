/** Marking a span as failed, the one way every traced kind of work does it. */
import { SpanStatusCode, type Span } from '@opentelemetry/api';

/** Records `err` on `span` (as an exception event) and sets the span's status to ERROR with its message. */
export function failSpan(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
