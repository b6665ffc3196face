/** A setting of the example that cannot work, with what to change in the message. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
