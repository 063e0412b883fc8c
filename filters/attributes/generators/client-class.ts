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
