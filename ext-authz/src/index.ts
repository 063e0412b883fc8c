/**
 * @meshward/ext-authz: an Envoy ext_authz server deciding on identity (JWT, SPIFFE workload),
 * signals and policy (native Istio-style rules, Rego). See docs/ext-authz.md.
 */
export { startAuthzServer, type AuthzServer, type StartOptions } from './server.js';
export { Authorizer, type AuthorizerOptions, type Protocol } from './authorizer.js';
export { parseConfig, parseConfigText, loadConfigFile, parseCidrFile, type ParseOptions } from './config/parse.js';
export { ConfigError, type ConfigIssue } from './config/reader.js';
export * from './config/types.js';
export * from './attributes.js';
export { ResponseBuilder, headerValue, type Decision, type DecisionResult, type RiskSummary, type StepUpChallenge } from './response.js';
export { Reader, type Mapping } from './config/reader.js';
export * from './identity/index.js';
export * from './signals/index.js';
export * from './state/index.js';
export { Reloader, reparseConfig, type ReloaderOptions } from './reload.js';
export { stepUpSatisfied, challengeOf, resolveDenial, thresholdFor, type Denial, type DenialContext } from './policy/decisions.js';
export * from './policy/index.js';
export { CONDITION_KEYS, parseConditionKey, ruleMatches, conditionValues, type NativeResult, type Rule, type SourceMatch, type OperationMatch, type Condition, type PolicyAction } from './policy/native.js';
export { Logger, type LogSink } from './log.js';
export { Metrics, LATENCY_BUCKETS_SECONDS, RISK_BUCKETS } from './metrics.js';
export { toCheckResponse } from './protocol/grpc.js';
export { decodeCheckRequest, encodeCheckResponse } from './protocol/check-codec.js';
export { attributesFromHttp, clientIpFrom, httpAnswerHeaders, HEADERS_TO_REMOVE } from './protocol/http.js';
export { serviceDefinitions, envoyProtoIncludeDirs, AUTHORIZATION_SERVICE, HEALTH_SERVICE } from './protocol/proto.js';
export { parseCidr, parseIp, cidrContains, anyCidrContains, type Cidr } from './cidr.js';
export { matchPattern, matchAny } from './match.js';
export { runAuthzCli, AUTHZ_USAGE } from './cli.js';
export { extAuthzHttpFilter, extAuthzDisabledPerRoute, type ExtAuthzFilterOptions } from './envoy.js';
