/** `meshward authz --config <file> [--check]`: validates the config and runs the server until SIGINT/SIGTERM. */
import { ConfigError } from './config/reader.js';
import { loadConfigFile } from './config/parse.js';
import { hashApiKey } from './identity/api-keys.js';
import { startAuthzServer } from './server.js';

export const AUTHZ_USAGE = `meshward authz --config <file.yaml> [--check]
meshward authz hash-key [<key> | -]

Runs the ext_authz server (gRPC envoy.service.auth.v3.Authorization, the HTTP check protocol and
/healthz /readyz /metrics). --check validates the config and exits. hash-key prints the SHA-256
of an API key for identity.api_keys (the key from the argument, or from stdin with "-" or none,
which keeps it out of the shell history). See docs/ext-authz.md.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `meshward authz hash-key`: the hex SHA-256 that identity.api_keys stores instead of the key. */
async function hashKeyCli(args: string[]): Promise<number> {
  const arg = args[0];
  // One trailing newline (from echo or a file) is not part of the key.
  const key = arg === undefined || arg === '-' ? (await readStdin()).replace(/\r?\n$/, '') : arg;
  if (key === '') {
    console.error('meshward authz hash-key: the key is empty');
    return 2;
  }
  console.log(hashApiKey(key));
  return 0;
}

export async function runAuthzCli(argv: string[]): Promise<number> {
  if (argv[0] === 'hash-key') return hashKeyCli(argv.slice(1));
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(AUTHZ_USAGE);
    return 0;
  }
  const i = argv.findIndex((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
  const file = i < 0 ? undefined : argv[i]!.startsWith('--config=') ? argv[i]!.slice('--config='.length) : argv[i + 1];
  if (!file) {
    console.error(`meshward authz: give the config file: --config <file.yaml>\n\n${AUTHZ_USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfigFile(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`meshward authz: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (argv.includes('--check')) {
    const signals = config.signals.list.map((x) => x.plugin.name);
    const extra = [
      config.policy.rego ? 'rego' : '',
      signals.length ? `signals: ${signals.join(', ')}` : '',
      config.risk.thresholds.length ? `risk thresholds: ${config.risk.thresholds.map((t) => `${t.score} ${t.decision}`).join(', ')}` : '',
      config.state.kind === 'redis' ? 'state: redis' : '',
      config.identity.apiKeys ? `${config.identity.apiKeys.keys.length} API key(s)` : '',
      config.identity.verifiedUpstream ? 'verified upstream identity' : '',
      config.policy.intentions ? `${config.policy.intentions.rules.length} intention(s)` : '',
    ].filter(Boolean);
    console.log(`meshward authz: ${file} is valid (${config.policy.policies.length} native polic${config.policy.policies.length === 1 ? 'y' : 'ies'}, ${config.identity.jwt.issuers.length} JWT issuer(s)${extra.map((e) => `, ${e}`).join('')})`);
    return 0;
  }
  const server = await startAuthzServer(config);
  return await new Promise<number>((resolve) => {
    const stop = () => {
      void server.close().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
