/**
 * Runs one notebook cell in a fresh tslab kernel, started headless by jupyter_client from the
 * test venv the way JupyterLab starts it, and records every iopub message of the execution
 * (displays and their updates, streams, errors). Asynchronous: the control plane a notebook
 * talks to may live in the calling process.
 */
import { spawn } from 'node:child_process';
import { python } from '../../train/test-support/python';

const DRIVER = `
import json, sys
from jupyter_client.manager import start_new_kernel
d = json.load(sys.stdin)
km, kc = start_new_kernel(kernel_name="tslab", cwd=d["cwd"], startup_timeout=120)
try:
    msg_id = kc.execute(d["code"])
    events = []
    while True:
        msg = kc.get_iopub_msg(timeout=900)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
        if kind in ("display_data", "update_display_data", "stream", "error", "execute_result"):
            c = msg["content"]
            events.append({
                "type": kind,
                "id": c.get("transient", {}).get("display_id"),
                "html": c.get("data", {}).get("text/html", ""),
                "text": c.get("text", "") or (c.get("ename", "") + ": " + c.get("evalue", "") if kind == "error" else ""),
            })
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print(json.dumps(events))
`;

/** One iopub message of the cell's execution. */
export interface KernelEvent {
  type: 'display_data' | 'update_display_data' | 'stream' | 'error' | 'execute_result';
  /** The display id of displays and their updates. */
  id: string | null;
  html: string;
  /** Stream text, or `ename: evalue` of an error. */
  text: string;
}

/**
 * Executes `code` in one cell of a new tslab kernel whose working directory is `cwd`.
 *
 * @example
 * const events = await runTslabCell("console.log('hi')", repo);
 */
export function runTslabCell(code: string, cwd: string): Promise<KernelEvent[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', DRIVER], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`${python} (tslab driver) exited with ${status}:\n${stderr.slice(-3000)}`));
      else resolve(JSON.parse(stdout) as KernelEvent[]);
    });
    child.stdin.end(JSON.stringify({ cwd, code }));
  });
}
