import type { z } from 'zod';

/** One field of a payload that failed validation. */
export interface FieldIssue {
  /** Dotted path with indexes: `symbols.2`, `priority`. Empty for the payload itself. */
  readonly path: string;
  readonly message: string;
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/**
 * A job payload that does not match its contract. Producers throw it before
 * anything reaches Redis; consumers fail the job with it, without retries
 * (a retry cannot fix a bad payload).
 */
export class InvalidJobPayloadError extends Error {
  readonly code = 'FIML_INVALID_JOB_PAYLOAD';
  constructor(
    readonly jobName: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(
      `invalid ${jobName} payload: ${issues.map((i) => `${i.path || '(payload)'}: ${i.message}`).join('; ')}`,
    );
    this.name = 'InvalidJobPayloadError';
  }
}
