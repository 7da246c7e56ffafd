// docker/Dockerfile without a Docker engine: linted by dockerfile-utils (the validator behind the
// Dockerfile language server; hadolint is not packaged in Debian or npm), a few of hadolint's
// rules checked on the parsed stages (dockerfile-ast), every file the stages take from the build
// context checked against the repository and the .dockerignore, the `turbo prune` the prune
// stage runs executed for real, and each image's start command held against its package.
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { DockerfileParser, type Copy, type From, type Instruction } from 'dockerfile-ast';
import { ValidationSeverity, validate, type ValidatorSettings } from 'dockerfile-utils';
import { APPS, DOCKERFILE, dockerPath, readJson, repoPath, run } from './support/files.js';

const IMAGES = [...APPS, 'sim-provider'] as const;
type ImageName = (typeof IMAGES)[number];

const content = readFileSync(DOCKERFILE, 'utf8');

/** Every check dockerfile-utils has, as an error. */
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

interface Stage {
  readonly name: string | undefined;
  /** What FROM names, unexpanded: an image, another stage, or `image-${APP}`. */
  readonly from: string;
  readonly instructions: Instruction[];
}

function parseStages(text: string): { initialArgs: Map<string, string>; stages: Stage[] } {
  const dockerfile = DockerfileParser.parse(text);
  const initialArgs = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) initialArgs.set(property.getName(), property.getValue() ?? '');
  }
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      stages.push({
        name: from.getBuildStage() ?? undefined,
        from: from.getImage() ?? '',
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { initialArgs, stages };
}

const { initialArgs, stages } = parseStages(content);
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};

/** The stages an image is built from, itself first, down to the one FROM an image. */
function chain(name: string, app: ImageName): Stage[] {
  const out: Stage[] = [];
  let current: Stage | undefined = stage(name);
  while (current) {
    out.push(current);
    const base: string = current.from.replace('${APP}', app);
    current = stages.find((s): boolean => s.name === base);
  }
  return out;
}

/** The last instruction of a keyword along a chain (a child stage's wins). */
function effective(stagesOfImage: Stage[], keyword: string): Instruction | undefined {
  for (const s of stagesOfImage) {
    const found = s.instructions.filter((i) => i.getKeyword() === keyword).at(-1);
    if (found) return found;
  }
  return undefined;
}

/** CMD ["node", "x"] as ["node", "x"]. */
function execForm(instruction: Instruction | undefined): string[] | undefined {
  const text = instruction?.getArgumentsContent()?.trim();
  if (!text?.startsWith('[')) return undefined;
  return JSON.parse(text) as string[];
}

/** The stage a COPY takes from (--from), undefined for the build context. */
const copyFrom = (i: Instruction): string | undefined =>
  (i as Copy).getFromFlag()?.getValue() ?? undefined;

/** Files COPY takes from the build context (no --from). */
function contextSources(): string[] {
  const sources: string[] = [];
  for (const s of stages) {
    for (const i of s.instructions) {
      if (i.getKeyword() !== 'COPY' || copyFrom(i) !== undefined) continue;
      sources.push(
        ...i
          .getArguments()
          .map((a) => a.getValue())
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    }
  }
  return sources;
}

/** Whether a .dockerignore excludes a path (its `**`, `*` and `!` patterns). */
function ignored(path: string, patterns: readonly string[]): boolean {
  let excluded = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = posix.normalize(negate ? raw.slice(1) : raw);
    const regex = new RegExp(
      `^${pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '(?:.*/)?'
            : `${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}/`,
        )
        .join('')
        .replace(/\/$/, '')}(?:/.*)?$`,
    );
    if (regex.test(path)) excluded = !negate;
  }
  return excluded;
}

const dockerignore = readFileSync(dockerPath('Dockerfile.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

const packageJson = (dir: string) =>
  readJson<{ name: string; main?: string; scripts?: Record<string, string> }>(
    repoPath(dir, 'package.json'),
  );

describe('the Dockerfile lint', () => {
  it('passes dockerfile-utils with every check as an error', () => {
    expect(validate(content, STRICT)).toEqual([]);
  });

  it('is a lint that can fail: a broken copy of the Dockerfile is reported', () => {
    const broken = content
      .replace('HEALTHCHECK --interval=15s', 'HEALTHCHECK --intervl=15s')
      .replace(
        'CMD ["node", "dist/bin/sim-provider.js"]',
        "CMD ['node', 'dist/bin/sim-provider.js']",
      )
      .replace('WORKDIR /app', 'WORKDIR app');
    expect(validate(broken, STRICT).map((d) => d.message)).toHaveLength(3);
  });

  it('follows hadolint rules that matter here (DL3002, DL3007, DL3020, DL3025, no secrets in ARG or ENV)', () => {
    for (const s of stages) {
      for (const i of s.instructions) {
        expect(i.getKeyword()).not.toBe('ADD'); // DL3020: COPY, not ADD
        if (i.getKeyword() === 'ARG' || i.getKeyword() === 'ENV') {
          expect(i.getArgumentsContent()).not.toMatch(/KEY|TOKEN|SECRET|PASSWORD/i);
        }
      }
      if (!stages.some((other) => other.name === s.from.replace('${APP}', 'api'))) {
        // DL3007: an image FROM is pinned to a tag, never latest.
        const image = s.from.replace('${NODE_IMAGE}', initialArgs.get('NODE_IMAGE')!);
        expect(image).toMatch(/^[\w./-]+:[\w.-]+$/);
        expect(image).not.toMatch(/:latest$/);
      }
    }
    for (const app of IMAGES) {
      const image = chain('final', app);
      expect(effective(image, 'USER')?.getArgumentsContent()).toBe('node'); // DL3002
      expect(execForm(effective(image, 'CMD'))?.[0]).toBe('node'); // DL3025, node as PID 1
      expect(effective(image, 'ENTRYPOINT')).toBeUndefined();
      expect(effective(image, 'HEALTHCHECK')?.getArgumentsContent()).toContain(
        'CMD ["node", "/usr/local/lib/fiml/healthcheck.mjs"]',
      );
      expect(effective(image, 'STOPSIGNAL')?.getArgumentsContent()).toBe('SIGTERM');
    }
  });
});

describe('the build stages', () => {
  it('take from the build context only files that exist and the .dockerignore lets through', () => {
    const sources = contextSources();
    expect(sources).toEqual(['.', 'tsconfig.base.json', 'docker/image/healthcheck.mjs']);
    for (const source of sources) {
      expect({ source, exists: existsSync(repoPath(source)) }).toEqual({ source, exists: true });
      if (source !== '.')
        expect({ source, ignored: ignored(source, dockerignore) }).toEqual({
          source,
          ignored: false,
        });
    }
  });

  it('keep secrets, local builds and dependencies out of the context', () => {
    for (const path of [
      '.env',
      'apps/api/.env',
      'docker/.env',
      'node_modules/x',
      'apps/api/node_modules/x',
      'apps/api/dist/main.js',
      '.git/HEAD',
    ]) {
      expect({ path, ignored: ignored(path, dockerignore) }).toEqual({ path, ignored: true });
    }
    for (const path of [
      '.env.example',
      'pnpm-lock.yaml',
      'apps/api/src/main.ts',
      'tsconfig.base.json',
    ]) {
      expect({ path, ignored: ignored(path, dockerignore) }).toEqual({ path, ignored: false });
    }
  });

  it('copy from stages defined before them, and every APP reaches an image stage', () => {
    const seen = new Set<string>();
    const copiedFrom: string[] = [];
    for (const s of stages) {
      for (const i of s.instructions) {
        const from = i.getKeyword() === 'COPY' ? copyFrom(i) : undefined;
        if (from === undefined) continue;
        expect({ stage: s.name, from, defined: seen.has(from) }).toEqual({
          stage: s.name,
          from,
          defined: true,
        });
        copiedFrom.push(from);
      }
      if (s.name) seen.add(s.name);
    }
    expect(copiedFrom).toEqual(['prune', 'prune', 'prune', 'build']);
    expect(stages.at(-1)).toMatchObject({ name: 'final', from: 'image-${APP}' });
    for (const app of IMAGES) expect(seen).toContain(`image-${app}`);
  });

  it('pin the pnpm and turbo the repository uses', () => {
    const root = readJson<{ packageManager: string }>(repoPath('package.json'));
    expect(content).toContain(`ARG PNPM_VERSION=${root.packageManager.split('@')[1]}`);
    const turbo = readJson<{ version: string }>(repoPath('node_modules/turbo/package.json'));
    expect(content).toContain(`ARG TURBO_VERSION=${turbo.version}`);
  });

  it('map each APP to a workspace package, as the prune stage does', () => {
    const script = stage('prune')
      .instructions.filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '')
      .join('\n');
    const packages: Record<ImageName, string> = {
      api: 'apps/api',
      'batch-scheduler': 'apps/batch-scheduler',
      warmer: 'apps/warmer',
      'sim-provider': 'packages/simulator',
    };
    expect(script).toContain('api|batch-scheduler|warmer) package="@fiml/${APP}"');
    expect(script).toContain('sim-provider) package="@fiml/simulator"');
    for (const app of APPS) expect(packageJson(packages[app]).name).toBe(`@fiml/${app}`);
    expect(packageJson(packages['sim-provider']).name).toBe('@fiml/simulator');
  });
});

describe('each image start command', () => {
  for (const app of APPS) {
    it(`${app}: node <package.json main>, the same as its start script`, () => {
      const pkg = packageJson(`apps/${app}`);
      const cmd = execForm(effective(chain('final', app), 'CMD'));
      expect(cmd).toEqual(['node', posix.normalize(pkg.main!)]);
      expect(pkg.scripts?.start).toBe(cmd!.join(' '));
    });
  }

  it('sim-provider: node on the compiled sim-provider command', () => {
    const cmd = execForm(effective(chain('final', 'sim-provider'), 'CMD'));
    const tsconfig = readJson<{ compilerOptions: { rootDir: string; outDir: string } }>(
      repoPath('packages/simulator/tsconfig.build.json'),
    );
    const source = cmd![1]!
      .replace(
        new RegExp(`^${tsconfig.compilerOptions.outDir}/`),
        `${tsconfig.compilerOptions.rootDir}/`,
      )
      .replace(/\.js$/, '.ts');
    expect(cmd).toEqual(['node', 'dist/bin/sim-provider.js']);
    expect(existsSync(repoPath('packages/simulator', source))).toBe(true);
  });
});

describe('turbo prune, as the prune stage runs it', () => {
  const out = mkdtempSync(join(tmpdir(), 'fiml-prune-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('gives each image its package, the packages it imports, and the lockfile; tsconfig.base.json comes separately', () => {
    for (const [app, dir] of [
      ['api', 'apps/api'],
      ['sim-provider', 'packages/simulator'],
    ] as const) {
      const target = join(out, app);
      const name = packageJson(dir).name;
      const { status, output } = run(
        repoPath('node_modules/.bin/turbo'),
        ['prune', name, '--docker', `--out-dir=${target}`],
        { cwd: repoPath() },
      );
      expect({ app, status, output }).toMatchObject({ app, status: 0 });
      for (const path of ['json/pnpm-lock.yaml', `json/${dir}/package.json`, `full/${dir}/src`]) {
        expect({ app, path, exists: existsSync(join(target, path)) }).toEqual({
          app,
          path,
          exists: true,
        });
      }
      // Every workspace dependency of the package is in the pruned tree.
      const manifest = readJson<{ dependencies?: Record<string, string> }>(
        join(target, 'json', dir, 'package.json'),
      );
      for (const [dep, spec] of Object.entries(manifest.dependencies ?? {})) {
        if (!spec.startsWith('workspace:')) continue;
        const depDir = `packages/${dep.replace('@fiml/', '')}`;
        expect({
          app,
          dep,
          pruned: existsSync(join(target, 'full', depDir, 'package.json')),
        }).toEqual({
          app,
          dep,
          pruned: true,
        });
      }
      // Not part of a prune, hence the Dockerfile's own COPY of it.
      expect(existsSync(join(target, 'full/tsconfig.base.json'))).toBe(false);
      const tsconfig = readJson<{ extends: string }>(
        join(target, 'full', dir, 'tsconfig.build.json'),
      );
      expect(tsconfig.extends).toBe('../../tsconfig.base.json');
    }
  }, 60_000);
});
