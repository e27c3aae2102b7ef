/** An invalid configuration: the message says which setting and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
