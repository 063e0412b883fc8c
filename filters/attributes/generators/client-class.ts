// The `client_class` generator: what kind of client sent the request, from the User-Agent and
// the shape of the headers. One of:
//   bot         a known crawler, scanner or automation tool; no User-Agent at all; or a UA that
//               claims a browser without the headers every current browser sends
//   cli         a command-line tool or HTTP library (curl, wget, python-requests, Go, ...)
//   mobile_app  a native app's HTTP stack (okhttp, CFNetwork, Dalvik, Alamofire, Dart) or an
//               Android WebView (X-Requested-With carries the app id)
//   browser     a "Mozilla/..." UA with browser headers (Accept-Language, Sec-Fetch-*, Sec-CH-UA)
//   other       anything else
import { lowercaseAscii } from "@meshward/sdk/assembly";

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

export class ClientSignals {
  userAgent: string | null = null;
  acceptLanguage: bool = false;
  secFetch: bool = false;
  secChUa: bool = false;
  /** X-Requested-With value (an app id in Android WebViews, "XMLHttpRequest" from browser scripts). */
  requestedWith: string | null = null;
}

function containsAny(s: string, tokens: Array<string>): bool {
  for (let i = 0; i < tokens.length; i++) if (s.includes(unchecked(tokens[i]))) return true;
  return false;
}

/** Classifies; `extra*` are additional lowercase substrings from the configuration. */
export function classifyClient(sig: ClientSignals, extraBots: Array<string>, extraCli: Array<string>, extraMobile: Array<string>): string {
  const raw = sig.userAgent;
  if (raw === null || raw.length == 0) return "bot";
  const ua = lowercaseAscii(raw);
  if (containsAny(ua, BOT_TOKENS) || containsAny(ua, extraBots)) return "bot";
  if (containsAny(ua, MOBILE_TOKENS) || containsAny(ua, extraMobile)) return "mobile_app";
  const rw = sig.requestedWith;
  if (rw !== null && rw.indexOf(".") > 0 && rw != "XMLHttpRequest") return "mobile_app";
  if (containsAny(ua, CLI_TOKENS) || containsAny(ua, extraCli)) return "cli";
  if (ua.startsWith("mozilla/")) {
    return sig.acceptLanguage || sig.secFetch || sig.secChUa ? "browser" : "bot";
  }
  return "other";
}
