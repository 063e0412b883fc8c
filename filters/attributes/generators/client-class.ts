// The `client_class` generator: what kind of client sent the request, from the User-Agent and
// the shape of the headers. One of:
//   bot         a known crawler, scanner or automation tool; no User-Agent at all; or a UA that
//               claims a browser without the headers every current browser sends
//   cli         a command-line tool or HTTP library (curl, wget, python-requests, Go, ...)
//   mobile_app  a native app's HTTP stack (okhttp, CFNetwork, Dalvik, Alamofire, Dart) or an
//               Android WebView (X-Requested-With carries the app id)
//   browser     a "Mozilla/..." UA with browser headers (Accept-Language, Sec-Fetch-*, Sec-CH-UA)
//   other       anything else
import { SubstringSet, startsWithFolded } from "../expr/text";

export const BOT_TOKENS: Array<string> = [
  "bot", "crawl", "spider", "slurp", "scan", "sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "dirbuster",
  "gobuster", "feroxbuster", "ffuf", "wpscan", "acunetix", "nessus", "openvas", "burp", "headless", "phantomjs",
  "selenium", "puppeteer", "playwright", "httrack", "scrapy", "facebookexternalhit", "preview",
];
export const CLI_TOKENS: Array<string> = [
  "curl/", "wget/", "httpie/", "python-requests/", "python-urllib", "python-httpx", "aiohttp/", "go-http-client/",
  "libwww-perl", "lwp::", "powershell", "java/", "apache-httpclient", "node-fetch", "axios/", "undici", "got ",
  "ruby", "php/", "insomnia", "postmanruntime", "rest-client", "okhttp-cli", "hurl/", "xh/",
];
export const MOBILE_TOKENS: Array<string> = [
  "okhttp", "dalvik/", "cfnetwork/", "alamofire", "dart:io", "dart/", "reactnative", "expo/", "ktor-client",
];

/** Every value classifyClient returns. */
export const CLIENT_CLASSES: Array<string> = ["browser", "bot", "cli", "mobile_app", "other"];

export class ClientSignals {
  userAgent: string | null = null;
  acceptLanguage: bool = false;
  secFetch: bool = false;
  secChUa: bool = false;
  /** X-Requested-With value (an app id in Android WebViews, "XMLHttpRequest" from browser scripts). */
  requestedWith: string | null = null;
}

const RANK_BOT = 0;
const RANK_MOBILE = 1;
const RANK_CLI = 2;

/** The tokens a configuration classifies with: the built-in lists plus its extra tokens, ranked bot < mobile < cli. */
export class ClientTokens {
  set: SubstringSet = new SubstringSet();
  constructor(extraBots: Array<string>, extraCli: Array<string>, extraMobile: Array<string>) {
    this.set.addAll(BOT_TOKENS, RANK_BOT);
    this.set.addAll(extraBots, RANK_BOT);
    this.set.addAll(MOBILE_TOKENS, RANK_MOBILE);
    this.set.addAll(extraMobile, RANK_MOBILE);
    this.set.addAll(CLI_TOKENS, RANK_CLI);
    this.set.addAll(extraCli, RANK_CLI);
    this.set.freeze();
  }
}

export function classifyClient(sig: ClientSignals, tokens: ClientTokens): string {
  const raw = sig.userAgent;
  if (raw === null || raw.length == 0) return "bot";
  // One pass over the User-Agent, ASCII letters folded to lowercase as it goes (no lowercase copy
  // per request), finds the strongest kind of token in it.
  const ua = raw;
  const rank = tokens.set.bestIn(ua);
  if (rank == RANK_BOT) return "bot";
  if (rank == RANK_MOBILE) return "mobile_app";
  const rw = sig.requestedWith;
  if (rw !== null && rw.indexOf(".") > 0 && rw != "XMLHttpRequest") return "mobile_app";
  if (rank == RANK_CLI) return "cli";
  if (startsWithFolded(ua, "mozilla/", 0)) {
    return sig.acceptLanguage || sig.secFetch || sig.secChUa ? "browser" : "bot";
  }
  return "other";
}

/** Entries of ClientMemo (a power of two). */
const MEMO_SLOTS = 64;
/** Longer User-Agent or X-Requested-With values are classified every time: the memo keeps its strings alive, so it bounds them. */
const MEMO_MAX_TEXT = 512;

/**
 * The classes of recently seen clients. A proxy serves the same few User-Agents again and again,
 * and a hit skips the token scan, the generator's dearest step. Direct-mapped by a hash of the
 * User-Agent (a newer client takes its slot); an entry holds every signal the class depends on,
 * so a hit answers exactly what classifyClient would.
 */
export class ClientMemo {
  private userAgents: StaticArray<string | null> = new StaticArray<string | null>(MEMO_SLOTS);
  private requestedWith: StaticArray<string | null> = new StaticArray<string | null>(MEMO_SLOTS);
  private presence: StaticArray<u8> = new StaticArray<u8>(MEMO_SLOTS);
  private classes: StaticArray<string | null> = new StaticArray<string | null>(MEMO_SLOTS);

  classify(sig: ClientSignals, tokens: ClientTokens): string {
    const ua = sig.userAgent;
    const rw = sig.requestedWith;
    if (ua === null || ua.length == 0 || ua.length > MEMO_MAX_TEXT || (rw !== null && rw.length > MEMO_MAX_TEXT)) {
      return classifyClient(sig, tokens);
    }
    const slot = <i32>(textHash(ua) & (MEMO_SLOTS - 1));
    const presence = <u8>((sig.acceptLanguage ? 1 : 0) | (sig.secFetch ? 2 : 0) | (sig.secChUa ? 4 : 0));
    const known = unchecked(this.classes[slot]);
    if (known !== null && unchecked(this.presence[slot]) == presence && unchecked(this.userAgents[slot]) == ua &&
        unchecked(this.requestedWith[slot]) == rw) {
      return known;
    }
    const c = classifyClient(sig, tokens);
    unchecked(this.userAgents[slot] = ua);
    unchecked(this.requestedWith[slot] = rw);
    unchecked(this.presence[slot] = presence);
    unchecked(this.classes[slot] = c);
    return c;
  }
}

/** FNV-1a over the UTF-16 code units. */
function textHash(s: string): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = (h ^ <u32>s.charCodeAt(i)) * 0x01000193;
  return h ^ (h >>> 16);
}
