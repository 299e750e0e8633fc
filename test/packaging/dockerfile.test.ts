import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../support/fixtures.js';

const dockerfile = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8');

/** Every rule of the linter as an error, so that nothing it notices passes. */
const strict: Required<ValidatorSettings> = {
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

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions with their continuation lines joined, comments dropped, grouped by stage. */
function parse(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') {
      const [from = '', , name] = instruction.args.split(' ');
      stages.push({ from, ...(name ? { name } : {}), instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

const { globalArgs, stages } = parse(dockerfile);
const runtime = stages[stages.length - 1]!;
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('passes the dockerfile-utils linter with every rule as an error', () => {
    const problems = validate(dockerfile, strict).map(
      (diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`,
    );
    expect(problems).toEqual([]);
  });

  it('the linter is live: it reports a broken Dockerfile', () => {
    const broken = 'from node:22\nMAINTAINER someone\nWORKDIR relative\nENTRYPOINT [\'bin/restore\']\n';
    expect(validate(broken, strict).map((d) => d.message)).toHaveLength(4);
  });

  it('is multi-stage on a current Node.js LTS image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const image = globalArgs.find((arg) => arg.keyword === 'ARG' && arg.args.startsWith('NODE_IMAGE='))?.args.split('=')[1];
    expect(image).toMatch(/^node:(22|24)(\.\d+)*-(bookworm|trixie)-slim$/);
    for (const stage of stages) expect(stage.from).toBe('${NODE_IMAGE}');
  });

  it('ships only production dependencies, installed from the lock file without install scripts but the zstd binding build', () => {
    const dependencyStage = stages.find((stage) => of(runtime, 'COPY').some((copy) => copy.startsWith(`--from=${stage.name} `) && copy.includes('node_modules')));
    expect(dependencyStage, 'the stage the runtime copies node_modules from').toBeDefined();
    const install = of(dependencyStage!, 'RUN').join('\n');
    expect(install).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(install).toMatch(/npm rebuild zstd-napi/);
    expect(install).toMatch(/apt-get install .*python3 make g\+\+/);
    // The compilers stay in the build stage: the runtime image installs nothing.
    expect(of(runtime, 'RUN').join('\n')).not.toMatch(/npm (ci|install|rebuild)|apt-get install/);
  });

  it('runs bin/restore as a non-root user in the broker working directory, with no default arguments', () => {
    const users = of(runtime, 'USER');
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^(0|root)(:|$)/);
    expect(users[0]).toBe('1001:1001');
    expect(of(runtime, 'ENTRYPOINT')).toEqual(['["/opt/zeebe-restore/bin/restore"]']);
    // A CMD such as --help would turn `docker run -e ZEEBE_RESTORE_FROM_BACKUP_ID=…` into a no-op.
    expect(of(runtime, 'CMD')).toEqual([]);
    expect(of(runtime, 'WORKDIR').at(-1)).toBe('/usr/local/zeebe');
    expect(of(runtime, 'COPY')).toContain('bin ./bin');
  });

  it('answers where the Camunda and Zeebe images have their restore app, and as restore on the PATH', () => {
    const copies = of(runtime, 'COPY');
    for (const home of ['/usr/local/camunda', '/usr/local/zeebe']) {
      expect(copies).toContain(`--chmod=755 docker/restore-in-home ${home}/bin/restore`);
    }
    expect(of(runtime, 'ENV').join(' ')).toMatch(/PATH=\/opt\/zeebe-restore\/bin:\$PATH/);
    expect(readFileSync(join(projectRoot, 'docker/restore-in-home'), 'utf8')).toContain('exec /opt/zeebe-restore/bin/restore "$@"');
  });

  it('labels the image', () => {
    const labels = of(runtime, 'LABEL').join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it('.dockerignore lets in exactly what the build copies from the context', () => {
    const ignore = readFileSync(join(projectRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignore[0]).toBe('**');
    const allowed = ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
    const copied = stages
      .flatMap((stage) => of(stage, 'COPY'))
      .filter((copy) => !copy.startsWith('--from='))
      .flatMap((copy) => copy.split(' ').filter((word) => !word.startsWith('--')).slice(0, -1));
    expect(new Set(copied)).toEqual(new Set(allowed));
  });
});
