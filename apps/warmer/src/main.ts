// Composition root of the warmer process: createWarmer builds it, runWorkerProcess
// runs it (ops server, ready line, schedule registration, shutdown on SIGTERM).
import { loadConfigOrExit, warmerEnv } from '@fiml/config';
import { runWorkerProcess } from '@fiml/runtime';
import { createWarmer } from './create-warmer.js';

const config = loadConfigOrExit(warmerEnv);
await runWorkerProcess({
  service: 'warmer',
  config,
  create: (context) => createWarmer(config, context),
});
