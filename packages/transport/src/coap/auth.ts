/** Device-key credentials from the `auth` Uri-Query (no DTLS yet; a later issue secures CoAP). */

/** The device id and key a request presents, or undefined when it presents none or a malformed one. */
export function credentialsOf(
  queries: readonly string[],
): { deviceId: string; key: string } | undefined {
  // RFC 7252 §6.5: each Uri-Query option is one "name=value" argument, already percent-decoded.
  const arg = queries.find((q) => q.startsWith('auth='));
  if (arg === undefined) return undefined;
  const value = arg.slice('auth='.length);
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return undefined;
  return { deviceId: value.slice(0, colon), key: value.slice(colon + 1) };
}
