/**
 * A provider configuration that cannot work, found at start-up: the process
 * refuses to start rather than fail every refresh at run time.
 */
export class ProviderConfigError extends Error {
  readonly code: 'FIML_PROVIDER_CONFIG_INVALID' | 'FIML_PROVIDER_UNKNOWN' =
    'FIML_PROVIDER_CONFIG_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderConfigError';
  }
}

/** A route names a provider that does not exist. Lists the ones that do. */
export class UnknownProviderError extends ProviderConfigError {
  override readonly code = 'FIML_PROVIDER_UNKNOWN';
  constructor(
    readonly providerId: string,
    readonly known: readonly string[],
    where: string,
  ) {
    super(
      `Unknown provider "${providerId}" in ${where}. Known providers: ${[...known].sort().join(', ') || '(none)'}.`,
    );
    this.name = 'UnknownProviderError';
  }
}
