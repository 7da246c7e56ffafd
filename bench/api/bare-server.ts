// The reference for the api benchmark: a bare Fastify route that returns the
// same JSON body the api returns for an L1 hit, with nothing in between (no
// cache, no validation, no auth, no hooks). Prints {"port":N} when listening.
import Fastify from 'fastify';

const body: unknown = JSON.parse(process.env.BARE_BODY ?? '{}');
const app = Fastify({ logger: false });
app.get('/v1/data/:dataType/:symbol', () => body);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(
  `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
