// Composition root of the warmer process: createWarmer builds it, runWorkerProcess
// runs it (ops server, ready line, schedule registration, shutdown on SIGTERM).
import { loadConfigOrExit } from '@fiml/config';
import { warmerEnv } from './config.js';
import { runWorkerProcess } from '@fiml/runtime';
import { createWarmer } from './create-warmer.js';

const config = loadConfigOrExit(warmerEnv);
await runWorkerProcess({
  service: 'warmer',
  config,
  create: (context) => createWarmer(config, context),
});
