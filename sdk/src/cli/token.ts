// `meshward token`: mints a token from the demo issuer, for trying the demo gateway by hand.
import { DEMO_ALGS, demoIssuer, parseDurationSeconds, type DemoAlg } from '../tools/demo-issuer.js';

export const TOKEN_USAGE = `meshward token [--sub NAME] [--claims JSON] [--alg ALG] [--exp DURATION] [--aud AUD] [--jwks]
  Prints a JWT signed by the demo issuer (${'https://demo.meshward.local'}), which the demo gateway
  (npm start) trusts on /api/* and /secure/*.
  --sub      subject (default alice)
  --claims   extra claims as a JSON object, e.g. '{"role":"admin","groups":["ops"]}'
  --alg      ${DEMO_ALGS.join(', ')} (default ES256)
  --exp      lifetime: 3600, 45s, 30m, 1h, 2d; negative (-5m) for an expired token (default 1h)
  --aud      audience (default demo-gateway)
  --jwks     print the issuer's public JWKS instead`;

export function runTokenCli(args: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): number {
  const values: Record<string, string> = {};
  let jwks = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--jwks') { jwks = true; continue; }
    if (a === '--help' || a === '-h') { out(TOKEN_USAGE); return 0; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!['--sub', '--claims', '--alg', '--exp', '--aud'].includes(name)) {
      err(`meshward token: unknown option ${a}\n${TOKEN_USAGE}`);
      return 2;
    }
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) { err(`meshward token: ${name} needs a value`); return 2; }
    values[name.slice(2)] = value;
  }
  try {
    const issuer = demoIssuer();
    if (jwks) { out(JSON.stringify(issuer.jwks, null, 2)); return 0; }
    let claims: Record<string, unknown> | undefined;
    if (values['claims'] !== undefined) {
      let parsed: unknown;
      try { parsed = JSON.parse(values['claims']); } catch (e) { throw new Error(`--claims: not JSON (${(e as Error).message})`); }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('--claims: expected a JSON object such as {"role":"admin"}');
      claims = parsed as Record<string, unknown>;
    }
    const alg = values['alg'] ?? 'ES256';
    if (!(DEMO_ALGS as readonly string[]).includes(alg)) throw new Error(`--alg: expected one of ${DEMO_ALGS.join(', ')}, not "${alg}"`);
    let expiresIn = 3600;
    if (values['exp'] !== undefined) {
      try { expiresIn = parseDurationSeconds(values['exp']); } catch (e) { throw new Error(`--exp: ${(e as Error).message}`); }
    }
    out(issuer.mint({ sub: values['sub'], claims, alg: alg as DemoAlg, expiresIn, audience: values['aud'] }));
    return 0;
  } catch (e) {
    err(`meshward token: ${(e as Error).message}`);
    return 2;
  }
}
