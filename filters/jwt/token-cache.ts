// Tokens whose signature verified, so a repeat token costs a hash and a map lookup instead of a
// signature check. Keyed by SHA-256 of provider name and token; bounded; time (exp, nbf) is checked
// on every use, and the whole cache is dropped when a provider's key set changes.
import { hexEncode } from "@meshward/sdk/assembly";
import { sha256 } from "./crypto/index";
import { Provider } from "./config";
import { TokenVerifier } from "./authenticate";
import { Jwt, parseJwt } from "./token";
import { JwtStatus } from "./status";
import { checkClaims, checkSignature } from "./verify";

export class VerifiedTokenCache implements TokenVerifier {
  private entries: Map<string, Jwt> = new Map<string, Jwt>();
  nowSeconds: i64 = 0;
  constructor(public capacity: i32, public maxTokenBytes: i32) {}

  private keyOf(token: string, provider: Provider): string {
    return hexEncode(sha256(Uint8Array.wrap(String.UTF8.encode(provider.name + "\n" + token))).buffer);
  }

  clear(): void {
    this.entries.clear();
  }

  verify(token: string, provider: Provider): Jwt {
    const key = this.capacity > 0 && token.length <= this.maxTokenBytes ? this.keyOf(token, provider) : "";
    if (key.length > 0 && this.entries.has(key)) {
      // Same bytes (the key is their hash), so the parse and signature are settled; time (exp,
      // nbf) is checked again on every use.
      const cached = this.entries.get(key);
      cached.status = checkClaims(cached, provider, this.nowSeconds);
      return cached;
    }
    const jwt = parseJwt(token, this.maxTokenBytes);
    if (jwt.status != JwtStatus.Ok) return jwt;
    jwt.status = checkClaims(jwt, provider, this.nowSeconds);
    if (jwt.status != JwtStatus.Ok) return jwt;
    jwt.status = checkSignature(jwt, provider);
    if (jwt.status == JwtStatus.Ok && key.length > 0) {
      if (this.entries.size >= this.capacity) this.entries.clear();
      this.entries.set(key, jwt);
    }
    return jwt;
  }
}
