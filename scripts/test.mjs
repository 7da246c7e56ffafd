// `npm test`: install everything a fresh machine lacks, then lint, typecheck and
// test every package through turbo, then check formatting. Extra arguments go
// to turbo, e.g. `npm test -- --filter=@fiml/api`.
import { ensurePnpm, ensureRedisServer, installDependencies, run, say } from './toolchain.mjs';

const env = { ...ensurePnpm(), TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
installDependencies(env);
const redisServer = ensureRedisServer();
if (!redisServer) process.exit(1);
env.REDIS_SERVER_BIN = redisServer;

say('lint, typecheck and test (turbo)');
run(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    'lint',
    'typecheck',
    'test',
    '--continue',
    '--output-logs=new-only',
    ...process.argv.slice(2),
  ],
  { env },
);
say('package graph rules (dependency-cruiser, .dependency-cruiser.cjs)');
run('pnpm', ['run', '--silent', 'lint:deps'], { env });
run(process.execPath, ['scripts/architecture-doc.mjs', '--check'], { env });
say('lint the repository scripts');
run('pnpm', ['exec', 'eslint', 'scripts', 'jest.preset.cjs', 'eslint.config.mjs'], { env });
say('formatting (prettier --check)');
run('pnpm', ['exec', 'prettier', '--check', '--log-level=warn', '.'], { env });
say('all checks passed');
