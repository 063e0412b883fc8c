// The abort handler every Meshward filter is built with (`--use abort=meshward_abort`): it logs
// the reason through proxy_log, so Envoy's log says why, then traps so the host fails the VM
// (fail closed) instead of carrying on in an unknown state.

@external("env", "proxy_log")
declare function abort_proxy_log(level: u32, message: usize, size: usize): u32;

// Building the message allocates; if that aborts too (out of memory), trap at once instead of
// recursing. The flag is cleared before trapping: Envoy may call into a failed VM again, and a
// later abort there should still be logged.
let meshward_aborting = false;

export function meshward_abort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  if (meshward_aborting) unreachable();
  meshward_aborting = true;
  let text = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const buf = String.UTF8.encode(text);
  meshward_aborting = false;
  abort_proxy_log(5, changetype<usize>(buf), <usize>buf.byteLength); // 5 = critical
  unreachable();
}
