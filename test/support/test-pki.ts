// A throwaway PKI for mTLS tests, made with the openssl CLI: a CA, a server certificate for
// localhost/127.0.0.1 and client certificates with the SANs a test needs (SPIFFE URIs, DNS names).
// Also the Envoy DownstreamTlsContext that serves it and an HTTPS GET that presents a client cert.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json } from '../../sdk/src/envoy/index.js';

export interface TlsResponse {
  status: number;
  body: string;
}

export interface TestPki {
  /** The folder holding ca.crt, server.crt/.key and one <name>.crt/.key per client. */
  readonly dir: string;
  /** A P-256 client certificate signed by the CA; `san` is an openssl subjectAltName value. */
  issueClient(name: string, subject: string, san: string): void;
  /** Envoy's TLS transport socket for a listener serving the server certificate. */
  downstreamTlsSocket(options: { requireClientCertificate: boolean }): Json;
  /** GET over TLS to 127.0.0.1:port (SNI localhost), presenting client certificate `client` if given. */
  get(port: number, path: string, options?: { client?: string; headers?: Record<string, string> }): Promise<TlsResponse>;
  remove(): void;
}

export function createTestPki(prefix: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `meshward-${prefix}-`));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const issue = (name: string, subject: string, extensions: string): void => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  };
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=meshward test CA', '-days', '1');
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');

  return {
    dir,
    issueClient: (name, subject, san) => issue(name, subject, `subjectAltName=${san}\nextendedKeyUsage=clientAuth\n`),
    downstreamTlsSocket: ({ requireClientCertificate }) => ({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        require_client_certificate: requireClientCertificate,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: join(dir, 'server.crt') }, private_key: { filename: join(dir, 'server.key') } }],
          validation_context: { trusted_ca: { filename: join(dir, 'ca.crt') } },
        },
      },
    }),
    get: (port, path, { client, headers } = {}) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path,
            servername: 'localhost',
            ca: readFileSync(join(dir, 'ca.crt')),
            ...(client ? { cert: readFileSync(join(dir, `${client}.crt`)), key: readFileSync(join(dir, `${client}.key`)) } : {}),
            ...(headers ? { headers } : {}),
            agent: false,
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        req.end();
      }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
