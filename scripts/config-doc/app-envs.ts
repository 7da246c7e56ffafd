// Every app's environment, in the order docs/CONFIGURATION.md lists them. The
// apps assemble their environments from the packages' fragments; this list is
// the one place that sees all three, for the generated reference.
import { apiEnv } from '@fiml/api/config';
import { batchSchedulerEnv } from '@fiml/batch-scheduler/config';
import { warmerEnv } from '@fiml/warmer/config';

export const allEnvs = [apiEnv, batchSchedulerEnv, warmerEnv] as const;
