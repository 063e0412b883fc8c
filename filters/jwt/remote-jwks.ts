// When a remote provider's key set is fetched: the freshness rules, free of host calls so they can
// be reasoned about (and tested) on their own. The fetcher (jwks-fetcher.ts) asks these questions
// and does the I/O.
//
// - No keys yet: a request carrying a token for the provider waits for one fetch.
// - Keys older than cache_duration: requests keep using them (served stale, so a key server that
//   is down does not take the API down) while one background fetch replaces them.
// - A token names a kid the set lacks (the issuer rotated keys): one re-fetch, at most once per
//   unknown_kid_refetch_interval, and the request waits for it.
// - A failed fetch is not retried for failedRefetchSeconds, so an unreachable key server is not
//   hammered by every request.
import { JwtConfig, Provider, Requirement, RequirementKind } from "./config";

export class RemoteJwksState {
  /** When the keys in use were fetched (seconds); 0 = never. */
  fetchedAt: i64 = 0;
  /** When the last fetch started (seconds); 0 = never. */
  lastAttempt: i64 = 0;
  /** When the last fetch failed (seconds); 0 = never. */
  lastFailure: i64 = 0;
  /** When the last fetch forced by an unknown kid started (seconds). */
  lastUnknownKidFetch: i64 = 0;
  inFlight: bool = false;
  /** When the shared copy was last looked at (seconds). */
  lastSharedCheck: i64 = -1;

  constructor(public provider: Provider) {}

  hasKeys(): bool { return this.provider.keys.length > 0; }

  expired(now: i64): bool {
    return this.fetchedAt == 0 || now - this.fetchedAt >= this.provider.cacheDurationSeconds;
  }

  private attemptAllowed(now: i64): bool {
    // A fetch whose answer never came (it always should: Envoy times calls out) stops blocking after a grace period.
    if (this.inFlight && now - this.lastAttempt <= <i64>(this.provider.remoteTimeoutMs / 1000) + 5) return false;
    return this.lastFailure == 0 || now - this.lastFailure >= this.provider.failedRefetchSeconds;
  }

  /** A request with a token for this provider must wait for a first fetch. */
  mustFetchBeforeVerifying(now: i64): bool {
    return !this.hasKeys() && this.attemptAllowed(now);
  }

  /** Keys are usable but old: refresh them without holding anyone. */
  shouldRefreshInBackground(now: i64): bool {
    return this.hasKeys() && this.expired(now) && this.attemptAllowed(now);
  }

  /** A token named a kid the set lacks: re-fetch once (rate-limited) before answering. */
  mayRefetchForUnknownKid(now: i64): bool {
    const interval = this.provider.unknownKidRefetchSeconds;
    if (interval <= 0 || !this.attemptAllowed(now)) return false;
    return this.lastUnknownKidFetch == 0 || now - this.lastUnknownKidFetch >= interval;
  }

  /** Whether to look for a newer copy another VM stored in shared data (at most once a second). */
  shouldCheckShared(now: i64): bool {
    return now != this.lastSharedCheck && (!this.hasKeys() || this.expired(now) || now - this.lastSharedCheck >= 5);
  }
}

/** Shared-data encoding of a fetched key set: `<fetchedAt seconds>\n<JWKS JSON>`. */
export function encodeSharedJwks(fetchedAt: i64, jwks: string): string {
  return fetchedAt.toString() + "\n" + jwks;
}

export class SharedJwks {
  constructor(public fetchedAt: i64, public jwks: string) {}
}

export function decodeSharedJwks(text: string): SharedJwks | null {
  const nl = text.indexOf("\n");
  if (nl <= 0 || nl > 20) return null;
  const stamp = I64.parseInt(text.substring(0, nl));
  if (stamp <= 0) return null;
  return new SharedJwks(stamp, text.substring(nl + 1));
}

/** The remote providers a requirement may use (every provider for allow_missing*). */
export function remoteProvidersOf(config: JwtConfig, r: Requirement, out: Array<Provider>): void {
  if (r.kind == RequirementKind.Provider) {
    const p = r.provider!;
    if (p.remote && !out.includes(p)) out.push(p);
  } else if (r.kind == RequirementKind.AllowMissing || r.kind == RequirementKind.AllowMissingOrFailed) {
    for (let i = 0; i < config.providers.length; i++) {
      const p = config.providers[i];
      if (p.remote && !out.includes(p)) out.push(p);
    }
  } else {
    for (let i = 0; i < r.children.length; i++) remoteProvidersOf(config, r.children[i], out);
  }
}
