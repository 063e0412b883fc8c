// Rule families by id range (the bundled ruleset numbers its rules in the OWASP CRS family
// ranges, so metrics and reports group the same way); ids outside them are "custom".
export function familyOf(id: i32): string {
  const block = id / 1000;
  if (block == 901 || block == 900) return "setup";
  if (block == 911) return "method";
  if (block == 913) return "scanner";
  if (block == 920) return "protocol";
  if (block == 921) return "protocol_attack";
  if (block == 922) return "multipart";
  if (block == 930) return "lfi";
  if (block == 931) return "rfi";
  if (block == 932) return "rce";
  if (block == 933) return "php";
  if (block == 934) return "nodejs";
  if (block == 941) return "xss";
  if (block == 942) return "sqli";
  if (block == 943) return "session_fixation";
  if (block == 944) return "java";
  if (block == 949) return "blocking";
  if (block >= 950 && block <= 956) return "data_leakage";
  if (block == 959) return "blocking";
  if (block == 980) return "correlation";
  return "custom";
}
