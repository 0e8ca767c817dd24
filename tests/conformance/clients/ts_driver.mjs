// One TypeScript MCP client (SDK 1.x or 2.x, as hosts embed them) through the conformance
// scenario against a real k8smcp server; prints one JSON object of what it saw.
// Usage: node ts_driver.mjs '<json plan>' (see tests/conformance/scenario.py).
import { readdirSync, readFileSync } from "node:fs";

const plan = JSON.parse(process.argv[2]);
const v2 = plan.sdk === "client-2";

async function load() {
  if (v2) {
    const mod = await import("@modelcontextprotocol/client");
    const stdio = await import("@modelcontextprotocol/client/stdio");
    return {
      Client: mod.Client,
      Http: mod.StreamableHTTPClientTransport,
      Stdio: stdio.StdioClientTransport,
    };
  }
  const base = plan.sdk; // an npm alias of @modelcontextprotocol/sdk
  return {
    Client: (await import(`${base}/client/index.js`)).Client,
    Http: (await import(`${base}/client/streamableHttp.js`)).StreamableHTTPClientTransport,
    Stdio: (await import(`${base}/client/stdio.js`)).StdioClientTransport,
  };
}

const sdk = await load();

async function connect(headers) {
  const options = v2 ? { versionNegotiation: { mode: plan.mode ?? "auto" } } : {};
  const client = new sdk.Client({ name: `conformance-${plan.sdk}`, version: "1.0.0" }, options);
  const transport =
    plan.transport === "stdio"
      ? new sdk.Stdio({ command: plan.command, args: plan.args, env: plan.env, stderr: "ignore" })
      : new sdk.Http(new URL(plan.url), { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

function errorOf(e) {
  return { code: e?.code ?? null, message: String(e?.message ?? e) };
}

function shape(result) {
  const texts = (result.content ?? []).map((c) => c.text ?? `<${c.type}>`);
  return { isError: result.isError ?? false, texts, structured: result.structuredContent ?? null };
}

async function call(client, name, args, options = {}) {
  try {
    const params = { name, arguments: args };
    const result = v2 ? await client.callTool(params, options) : await client.callTool(params, undefined, options);
    return shape(result);
  } catch (e) {
    return { thrown: errorOf(e) };
  }
}

function pidsWith(marker) {
  const found = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.includes(marker)) && !argv.some((a) => a.includes("ts_driver"))) {
        found.push(Number(pid));
      }
    } catch {}
  }
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = {};
const client = await connect(plan.headers ?? {});
out.init = {
  protocolVersion: v2 ? client.getNegotiatedProtocolVersion?.() ?? null : null,
  server: client.getServerVersion()?.name ?? null,
  instructions: client.getInstructions() ?? null,
};
const tools = (await client.listTools()).tools;
out.tools = tools.map((t) => ({
  name: t.name,
  required: t.outputSchema?.required ?? null,
  additional: t.inputSchema?.additionalProperties ?? null,
}));
const prompts = (await client.listPrompts()).prompts;
out.prompts = prompts.map((p) => ({ name: p.name, args: (p.arguments ?? []).map((a) => [a.name, !!a.required, !!a.description]) }));

for (const [step, args] of Object.entries(plan.calls)) {
  out[step] = await call(client, "kubectl", args);
}
out.unknown_tool = await call(client, "no-such-tool", { command: "version" });

try {
  const prompt = await client.getPrompt({ name: "debug_crashloop_pod", arguments: { pod: "web-1" } });
  out.prompt_ok = { text: prompt.messages[0].content.text.slice(0, 200) };
} catch (e) {
  out.prompt_ok = { thrown: errorOf(e) };
}
try {
  await client.getPrompt({ name: "debug_crashloop_pod", arguments: {} });
  out.prompt_missing = { thrown: null };
} catch (e) {
  out.prompt_missing = { thrown: errorOf(e) };
}

// large output: the text is stdout, once; report its size and end, not the text
const large = await call(client, "kubectl", plan.large);
out.large = large.thrown
  ? large
  : {
      isError: large.isError,
      length: Buffer.byteLength(large.texts[0] ?? "", "utf8"),
      tail: (large.texts[0] ?? "").slice(-200),
      structured: large.structured,
      texts: large.texts.length,
    };

// progress, then cancellation: the child must be gone within a second of the cancel
const progress = [];
const controller = new AbortController();
const watching = call(client, "kubectl", plan.watch, {
  onprogress: (p) => progress.push(p),
  signal: controller.signal,
  timeout: 120000,
});
const started = Date.now();
while (progress.length === 0 && Date.now() - started < 20000) await sleep(100);
const before = pidsWith(plan.marker);
controller.abort("conformance: cancel");
const aborted = Date.now();
let after = pidsWith(plan.marker);
while (after.length > 0 && Date.now() - aborted < 5000) {
  await sleep(50);
  after = pidsWith(plan.marker);
}
out.progress_cancel = {
  progress: progress.length,
  firstMessage: progress[0]?.message ?? null,
  childBefore: before.length,
  goneMs: after.length === 0 ? Date.now() - aborted : null,
  outcome: await watching,
};
out.after_cancel = await call(client, "kubectl", plan.calls.ok);

if (Object.keys(plan.bare_calls).length > 0) {
  const bare = await connect({});
  for (const [step, args] of Object.entries(plan.bare_calls)) {
    out[step] = await call(bare, "kubectl", args);
  }
  await bare.close();
}
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);
