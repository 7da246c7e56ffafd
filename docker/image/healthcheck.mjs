// The image's HEALTHCHECK: asks the process in this container whether it is ready and exits 0
// (healthy) or 1 (unhealthy), as Docker expects. The slim Node.js image has no curl or wget, and
// Node.js is there anyway.
//
// Which port and path depend on the process (FIML_APP, set by the image) and on the environment
// the process itself reads, so a port changed at run time is followed:
//   api              GET /readyz on API_PORT (3000)       503 until both Redis roles answer
//   batch-scheduler  GET /readyz on METRICS_PORT (9101)   its ops server
//   warmer           GET /readyz on METRICS_PORT (9102)
//   sim-provider     GET /healthz on PORT (9200)
// FIML_HEALTHCHECK_URL, when set, is probed instead.

const env = process.env;
const TIMEOUT_MS = 4000;

/** The loopback address of a listen host: the process listens there when bound to every interface. */
function probeHost(host) {
  if (!host || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function target() {
  if (env.FIML_HEALTHCHECK_URL) return env.FIML_HEALTHCHECK_URL;
  switch (env.FIML_APP) {
    case 'api':
      return `http://${probeHost(env.API_HOST)}:${env.API_PORT || 3000}/readyz`;
    case 'batch-scheduler':
      return `http://${probeHost(env.METRICS_HOST)}:${env.METRICS_PORT || 9101}/readyz`;
    case 'warmer':
      return `http://${probeHost(env.METRICS_HOST)}:${env.METRICS_PORT || 9102}/readyz`;
    case 'sim-provider':
      return `http://${probeHost(env.HOST)}:${env.PORT || 9200}/healthz`;
    default:
      return undefined;
  }
}

const url = target();
if (!url) {
  process.stderr.write(
    `healthcheck: FIML_APP is ${JSON.stringify(env.FIML_APP)}; expected api, batch-scheduler, warmer or sim-provider (or set FIML_HEALTHCHECK_URL)\n`,
  );
  process.exit(1);
}

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = (await response.text()).slice(0, 500);
  if (response.ok) process.exit(0);
  // Docker keeps the last output of each probe: `docker inspect` shows why it is unhealthy.
  process.stderr.write(`healthcheck: ${url} answered ${response.status}: ${body}\n`);
  process.exit(1);
} catch (error) {
  process.stderr.write(
    `healthcheck: ${url} did not answer: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
