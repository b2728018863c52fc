import { assert, assertEquals } from "@std/assert";
import { startServer } from "./support/server.ts";
import { WebhookReceiver } from "./support/webhook_receiver.ts";

const SECRET = "w".repeat(32);
const doc = await Deno.readTextFile(new URL("../docs/escalation.md", import.meta.url));
const block = (lang: string, marker: string) =>
  [...doc.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))]
    .map((m) => m[1]!).find((code) => code.includes(marker));

const HAVE_JAVA = (() => {
  try {
    return new Deno.Command("java", { args: ["-version"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

/** A real webhook request, as alarmcast signs and sends it. */
async function realWebhook(): Promise<{ timestamp: string; signature: string; body: string }> {
  await using receiver = new WebhookReceiver();
  await using server = await startServer({
    now: Date.now,
    config: { webhookAllowedOrigins: [receiver.origin], webhookSecret: SECRET },
  });
  await server.app.start();
  const res = await fetch(`${server.http}/api/policies/p`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      match: { ids: ["plant-3"] },
      ackWithinSeconds: 1,
      webhook: `${receiver.origin}/hook`,
    }),
  });
  assertEquals(res.status, 201);
  await res.body?.cancel();
  await server.post("/api/alarms/plant-3", { level: "critical", message: 'Grüße, "quoted"' });
  await receiver.received(1);
  const [request] = receiver.requests;
  return {
    timestamp: request!.headers.get("x-alarmcast-timestamp")!,
    signature: request!.headers.get("x-alarmcast-signature")!,
    body: request!.body,
  };
}

async function run(command: string, args: string[], env: Record<string, string>, cwd: string) {
  const out = await new Deno.Command(command, { args, env, cwd, stdin: "null", stdout: "piped" })
    .output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout).trim() };
}

Deno.test("docs/escalation.md: the shell and Java recipes accept a real webhook and refuse a forged one", async () => {
  const shell = block("sh", "openssl dgst");
  const java = block("java", "class VerifyWebhook");
  assert(shell && java, "recipes missing from docs/escalation.md");
  const { timestamp, signature, body } = await realWebhook();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/body.json`, body);
    await Deno.writeTextFile(`${dir}/forged.json`, body.replace("plant-3", "plant-4"));
    await Deno.writeTextFile(`${dir}/VerifyWebhook.java`, java);
    const env = { WEBHOOK_SECRET: SECRET, timestamp, signature, PATH: Deno.env.get("PATH")! };
    const forged = shell.replaceAll("body.json", "forged.json");
    // In bash and in a POSIX sh (dash on Debian) alike.
    for (const sh of ["bash", "sh"]) {
      assertEquals(await run(sh, ["-c", shell], env, dir), { code: 0, text: "valid" }, sh);
      assertEquals(await run(sh, ["-c", forged], env, dir), { code: 1, text: "invalid" }, sh);
      // The headers are the sender's: a timestamp that bash would run as a command is refused
      // before any arithmetic, with or without a valid signature beside it.
      for (
        const hostile of [`x[$(touch ${dir}/ran)]`, `1+x[$(touch ${dir}/ran)]`, "", "0999", "08"]
      ) {
        const answer = await run(sh, ["-c", shell], { ...env, timestamp: hostile }, dir);
        assertEquals(answer, { code: 1, text: "invalid" }, `${sh} ${hostile}`);
      }
    }
    assertEquals(await Deno.stat(`${dir}/ran`).then(() => true, () => false), false);
    if (!HAVE_JAVA) return; // the shell recipe still ran
    const args = (file: string) => ["VerifyWebhook.java", timestamp, signature, file];
    assertEquals(await run("java", args("body.json"), env, dir), { code: 0, text: "valid" });
    assertEquals(await run("java", args("forged.json"), env, dir), { code: 1, text: "invalid" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
