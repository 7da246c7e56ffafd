// The reference for the api benchmark: a bare Fastify route that returns the
// same JSON body the api returns for an L1 hit, with nothing in between (no
// cache, no validation, no auth, no hooks). Listens on $PORT.
import Fastify from 'fastify';
import { fitGcToCpus } from '@fiml/runtime';

// The GC rule the api applies to itself at start-up (on one CPU, scavenges on the main
// thread): the comparison measures request handling, not where garbage is collected.
fitGcToCpus();
const body: unknown = JSON.parse(process.env.BARE_BODY ?? '{}');
const app = Fastify({ logger: false });
app.get('/v1/data/:dataType/:symbol', () => body);
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
