import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StdoutLines } from '../../../ext-authz/src/log.js';
import { repoRoot } from '../../support/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StdoutLines', () => {
  it('writes the lines of a short while together, in order, within 20 ms of the first', async () => {
    const writes: string[] = [];
    const lines = new StdoutLines((text) => writes.push(text));
    lines.write('a');
    await sleep(5);
    lines.write('b');
    expect(writes).toEqual([]);
    await sleep(40);
    expect(writes).toEqual(['a\nb\n']);
    lines.write('c');
    await sleep(40);
    expect(writes).toEqual(['a\nb\n', 'c\n']);
    lines.flush();
    expect(writes.length).toBe(2);
  });

  it('writes a large batch at once, without waiting for its time', () => {
    const writes: string[] = [];
    const lines = new StdoutLines((text) => writes.push(text));
    const line = 'x'.repeat(1000);
    for (let i = 0; i < 70; i++) lines.write(line);
    expect(writes.length).toBe(1);
    expect(writes[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(writes[0]!.split('\n').filter(Boolean).length).toBe(66); // 66 lines of 1,001 characters pass 64 Ki
  });

  it("loses no line when the process exits right after logging, or dies of an uncaught error", () => {
    const log = pathToFileURL(join(repoRoot, 'ext-authz', 'dist', 'log.js')).href;
    for (const [ending, code] of [['process.exit(3)', 3], ["throw new Error('boom')", 1]] as const) {
      const script = `import { Logger } from '${log}';\nconst l = new Logger('info');\nfor (let i = 0; i < 3; i++) l.info('line', { i });\n${ending};\n`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.status).toBe(code);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { i: number; msg: string });
      expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    }
  });
});
