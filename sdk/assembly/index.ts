// @meshward/sdk/assembly: write proxy-wasm filters in AssemblyScript.
// A filter's entry file also exports the ABI: `export * from "@meshward/sdk/assembly/abi";`
export * from "@solo-io/proxy-runtime/assembly/index";
export * from "./log";
export * from "./json";
export * from "./config";
export * from "./host";
export * from "./status";
export * from "./headers";
export * from "./properties";
export * from "./body";
export * from "./shared";
export * from "./metrics";
export * from "./http";
export * from "./response";
export * from "./encoding";
export * from "./match";
export * from "./cidr";
