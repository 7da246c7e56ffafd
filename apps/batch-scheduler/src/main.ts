// Composition root of the batch-scheduler process: createBatchScheduler builds it,
// runWorkerProcess runs it (ops server, ready line, shutdown on SIGTERM).
import { loadConfigOrExit } from '@fiml/config';
import { batchSchedulerEnv } from './config.js';
import { runWorkerProcess } from '@fiml/runtime';
import { createBatchScheduler } from './create-batch-scheduler.js';

const config = loadConfigOrExit(batchSchedulerEnv);
await runWorkerProcess({
  service: 'batch-scheduler',
  config,
  create: (context) => createBatchScheduler(config, context),
});
