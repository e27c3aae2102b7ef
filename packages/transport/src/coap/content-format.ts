/**
 * Content-Format numbers ↔ media types we accept (RFC 7252 §12.3, RFC 8428 §12.3 for SenML).
 * Anything else is refused with 4.15 Unsupported Content-Format (RFC 7252 §5.9.2.9).
 */
const FORMATS: ReadonlyMap<number, string> = new Map([
  [0, 'text/plain'], // RFC 7252 §12.3: text/plain; charset=utf-8
  [42, 'application/octet-stream'],
  [50, 'application/json'],
  [60, 'application/cbor'], // RFC 8949 §9.5
  [110, 'application/senml+json'], // RFC 8428 §12.3
  [112, 'application/senml+cbor'], // RFC 8428 §12.3
]);

const BY_TYPE: ReadonlyMap<string, number> = new Map([...FORMATS].map(([n, t]) => [t, n]));

/** The media type for a Content-Format number, or undefined when we do not accept it. */
export function contentTypeOf(format: number): string | undefined {
  return FORMATS.get(format);
}

/** The Content-Format number of a media type (parameters ignored), or undefined when it has none. */
export function contentFormatOf(contentType: string): number | undefined {
  const bare = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return BY_TYPE.get(bare);
}

/** Content type assumed for a POST without a Content-Format option (RFC 7252 §5.10.3: opaque bytes). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
