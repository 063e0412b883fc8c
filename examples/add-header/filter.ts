// add-header: the smallest useful Meshward filter. It sets response headers taken from its plugin
// configuration, and rejects a bad configuration at load with a message naming the field.
export * from "@meshward/sdk/assembly/abi";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, stream_context,
  ConfigContext, getPluginConfiguration, logError, logInfo, setLogLevel, LogLevelValues,
} from "@meshward/sdk/assembly";
import { AddHeaderConfig, parseAddHeaderConfig } from "./config";

class AddHeaderRoot extends RootContext {
  config: AddHeaderConfig | null = null;

  onConfigure(configuration_size: u32): bool {
    const ctx = new ConfigContext();
    const config = parseAddHeaderConfig(ctx, getPluginConfiguration(configuration_size));
    if (config === null) {
      logError("add-header: invalid plugin configuration: " + ctx.error());
      return false;
    }
    setLogLevel(<LogLevelValues>config.logLevel);
    this.config = config;
    logInfo("add-header: configured " + config.names.length.toString() + " response header(s)");
    return true;
  }

  createContext(context_id: u32): Context {
    return new AddHeader(context_id, this);
  }
}

class AddHeader extends Context {
  constructor(context_id: u32, readonly root: AddHeaderRoot) {
    super(context_id, root);
  }

  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const config = this.root.config;
    if (config === null) return FilterHeadersStatusValues.Continue;
    for (let i = 0; i < config.names.length; i++) {
      stream_context.headers.response.replace(config.names[i], config.values[i]);
    }
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => new AddHeaderRoot(context_id), "add-header");
