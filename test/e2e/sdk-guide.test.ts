// Follows sdk/README.md's five-minute guide step by step in a fresh project folder, so the guide
// stays true: its files are written as the README shows them, its commands are run as written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { meshwardHome } from '../../sdk/src/tools/paths.js';
import { cliPath, repoRoot } from '../support/cli.js';

const readme = readFileSync(join(repoRoot, 'sdk', 'README.md'), 'utf8');
const files = [...readme.matchAll(/```ts file=(\S+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, text: m[2]! }));
const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);

const project = mkdtempSync(join(tmpdir(), 'meshward-guide-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Runs a guide command: `npx meshward ...` with the built CLI, `npx vitest ...` with the repo's vitest. */
function runGuideCommand(command: string) {
  const [npx, tool, ...args] = command.split(/\s+/);
  expect(npx).toBe('npx');
  const bin = tool === 'meshward' ? cliPath : join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  // The project uses the managed tools this repo already installed (the guide's `meshward setup`).
  return spawnSync(process.execPath, [bin, ...args], { cwd: project, encoding: 'utf8', timeout: 120_000, env: { ...process.env, MESHWARD_HOME: meshwardHome(), CI: '', NO_COLOR: '1', FORCE_COLOR: '0' } });
}

describe('sdk/README.md five-minute guide', () => {
  it('shows the filter, the unit test and the Envoy test as files, and the commands', () => {
    expect(files.map((f) => f.name)).toEqual(['filter.ts', 'greet.test.ts', 'envoy.test.ts']);
    expect(commands).toContain('npx meshward build filter.ts -o build/greet.wasm');
    expect(commands).toContain('npx vitest run greet.test.ts');
    expect(commands).toContain('npx vitest run envoy.test.ts');
  });

  it('steps 2-5: write, build, unit-test in the Node host, run in real Envoy', () => {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'guide', private: true, type: 'module' }));
    // Step 1's `npm i` stands here as the repo's installed packages.
    symlinkSync(join(repoRoot, 'node_modules'), join(project, 'node_modules'), 'dir');
    for (const f of files) writeFileSync(join(project, f.name), f.text);

    const build = runGuideCommand('npx meshward build filter.ts -o build/greet.wasm');
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    expect(existsSync(join(project, 'build', 'greet.wasm'))).toBe(true);

    for (const [cmd, tests] of [['npx vitest run greet.test.ts', 2], ['npx vitest run envoy.test.ts', 1]] as const) {
      const r = runGuideCommand(cmd);
      const out = `${r.stdout}${r.stderr}`;
      expect(r.status, out).toBe(0);
      expect(out).toMatch(new RegExp(`Tests\\s+${tests} passed \\(${tests}\\)`));
    }
  }, 180_000);
});
