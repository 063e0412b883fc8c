#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { doctor } from '../tools/doctor.js';
import { requireTool } from '../tools/resolve.js';
import { setup } from '../tools/setup.js';
import type { ToolName } from '../tools/resolve.js';

const USAGE = `meshward: security extension kit for Envoy

Usage:
  meshward setup [--if-missing] [--only envoy|opa|redis]  install the managed Envoy and OPA, and redis-server (apt-get)
  meshward doctor                                    show each tool's version and path
  meshward build <filter.ts> [-o out.wasm] [--debug] build an AssemblyScript filter with the SDK's settings
  meshward envoy [args...]                           run the managed Envoy
  meshward authz --config <file.yaml> [--check]      run the ext_authz server (@meshward/ext-authz); --check validates the config
  meshward token [--sub S] [--claims JSON] [--alg A] [--exp 1h] [--aud A] [--jwks]
                                                     mint a token from the demo issuer (the demo gateway trusts it)
  meshward help

Environment: ENVOY_BIN, OPA_BIN, REDIS_BIN (use these binaries), MESHWARD_HOME (where managed tools live,
default <project>/.meshward), MESHWARD_ENVOY_RUNTIME=local|container (test harness runtime).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'setup': {
      const ifMissing = rest.includes('--if-missing');
      const only = rest.indexOf('--only');
      const tools = only >= 0 ? ([rest[only + 1]] as ToolName[]) : undefined;
      if (tools && !['envoy', 'opa', 'redis'].includes(tools[0] as string)) {
        console.error(`meshward setup: --only takes envoy, opa or redis, not ${tools[0]}`);
        return 2;
      }
      const results = await setup({ ifMissing, tools });
      const failed = results.filter((r) => !r.ok);
      for (const r of failed) console.error(`meshward setup: ${r.tool}: ${r.message}`);
      return failed.length ? 1 : 0;
    }
    case 'doctor':
      return doctor();
    case 'build': {
      const entry = rest.find((a, i) => !a.startsWith('-') && rest[i - 1] !== '-o');
      if (!entry) {
        console.error('meshward build: give the filter entry file, e.g. meshward build filter.ts');
        return 2;
      }
      const o = rest.indexOf('-o');
      const { buildFilter } = await import('./build.js');
      const out = await buildFilter({ entry, outFile: o >= 0 ? rest[o + 1] : undefined, debug: rest.includes('--debug') });
      console.log(`meshward build: wrote ${out}`);
      return 0;
    }
    case 'envoy': {
      const tool = requireTool('envoy');
      const child = spawn(tool.path, rest, { stdio: 'inherit' });
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
      return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
    }
    case 'authz': {
      // Loaded only for this command, and only if @meshward/ext-authz is installed (the SDK does not depend on it).
      const specifier = '@meshward/ext-authz';
      let mod: { runAuthzCli(argv: string[]): Promise<number> };
      try {
        mod = (await import(specifier)) as typeof mod;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((e as Error).message).includes(specifier)) throw e;
        console.error('meshward authz: the ext_authz server is in the package @meshward/ext-authz; install it (npm install @meshward/ext-authz)');
        return 2;
      }
      return mod.runAuthzCli(rest);
    }
    case 'token': {
      const { runTokenCli } = await import('./token.js');
      return runTokenCli(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`meshward: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`meshward: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
