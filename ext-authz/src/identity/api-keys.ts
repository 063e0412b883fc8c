/**
 * API keys, stored as SHA-256 hashes only. A presented key is hashed and compared with every
 * stored hash in constant time (no early exit), so neither the comparison nor the number of
 * comparisons depends on which key, or how much of it, matched. Keys are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyEntry, ApiKeysConfig } from '../config/types.js';

/** Longer values are refused before hashing (a header is not a place for megabytes). */
export const MAX_API_KEY_LENGTH = 4096;

/** The hex SHA-256 of a key: what `identity.api_keys.keys[].sha256` holds (`meshward authz hash-key`). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class ApiKeyStore {
  constructor(readonly config: ApiKeysConfig) {}

  get header(): string {
    return this.config.header;
  }

  /** The entry whose hash matches the presented key, or undefined. */
  match(presented: string): ApiKeyEntry | undefined {
    if (presented === '' || presented.length > MAX_API_KEY_LENGTH) return undefined;
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: ApiKeyEntry | undefined;
    for (const k of this.config.keys) {
      // Every stored hash is compared, even after a match.
      if (timingSafeEqual(digest, k.sha256) && found === undefined) found = k;
    }
    return found;
  }
}
