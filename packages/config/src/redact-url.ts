/**
 * Masks the password of a URL (redis://user:secret@host -> redis://user:***@host)
 * so connection strings can be logged. A string that is not a URL is returned
 * with anything between "://" and "@" masked, to be safe.
 */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/:\/\/[^@/]*@/, '://***@');
  }
}
