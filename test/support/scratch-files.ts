// A throwaway folder for files a test hands to a tool (Rego modules for `opa`, inputs, keys).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScratchFiles {
  readonly dir: string;
  /** Writes `text` to `name` in the folder; returns the file's path. */
  write(name: string, text: string): string;
}

export function scratchFiles(prefix: string): ScratchFiles {
  const dir = mkdtempSync(join(tmpdir(), `meshward-${prefix}-`));
  return {
    dir,
    write(name, text) {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    },
  };
}
