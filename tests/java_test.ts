/**
 * The Java examples against a real server: `examples/java/Publisher.java` run by the JDK's
 * single-file launcher, and the Spring Boot example's own integration test run by Maven. Without
 * `java` or `mvn` on the PATH they are skipped with a hint; in CI (`CI=true`) that fails instead.
 *
 * @module
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { TokenKeys } from "../lib/core/mod.ts";
import { TestClient } from "./support/client.ts";
import { ServerProcess } from "./support/process.ts";
import { requiredTool } from "./support/tools.ts";

const root = new URL("../", import.meta.url);
const PUBLISHER = new URL("examples/java/Publisher.java", root).pathname;
const SPRING_BOOT = new URL("examples/spring-boot/", root).pathname;
const KEY = "k".repeat(24);
const SECRET = "s".repeat(32);

/** The path of `name` on the PATH, or `undefined` (with a hint, or a failure in CI). */
function required(name: string, hint: string): string | undefined {
  return requiredTool(name, [name], hint, `Java tests that need ${name}`);
}

const JAVA = required("java", "sudo apt-get install openjdk-17-jdk-headless");
const MVN = required("mvn", "sudo apt-get install maven");

/** Runs `command` to completion within `ms` (killed after that); returns exit code and output. */
async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string },
  ms: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    const out = await new Deno.Command(command, {
      args,
      ...options,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** `java Publisher.java <args>` with `env` added; a UTF-8 locale, as Java 17 decodes its arguments with it. */
function publisher(args: string[], env: Record<string, string>) {
  return run(JAVA!, [PUBLISHER, ...args], { env: { LC_ALL: "C.UTF-8", ...env } }, 60_000);
}

/** The `<word> <rest>` lines the publisher prints, by word. */
function results(stdout: string): Map<string, string> {
  return new Map(
    stdout.trim().split("\n").map((line) => {
      const space = line.indexOf(" ");
      return [line.slice(0, space), line.slice(space + 1)];
    }),
  );
}

Deno.test({
  name: "Publisher.java publishes, mints a token the server takes byte for byte, and reads history",
  ignore: JAVA === undefined,
  async fn() {
    await using server = new ServerProcess({ ALARM_API_KEY: KEY, WS_TOKEN_SECRET: SECRET });
    const base = `http://127.0.0.1:${await server.port()}`;
    // Everything hand-rolled JSON escaping must get right.
    const message = 'said "stop" \\ C:\\temp\n\ttab \x01\x1f ünïcode 😀';
    const out = await publisher([base, "plant-3", message], {
      ALARM_API_KEY: KEY,
      WS_TOKEN_SECRET: SECRET,
    });
    assertEquals(out.code, 0, out.stderr);
    const lines = results(out.stdout);
    assertEquals([...lines.keys()], ["published", "token", "history"]);

    const published = JSON.parse(lines.get("published")!);
    assertEquals([published.seq, published.target], [1, "plant-3"]);
    const history = JSON.parse(lines.get("history")!);
    assertEquals(history.seq, 1);
    assertEquals(history.alarms.map((a: { id: string }) => a.id), [published.id]);
    assertEquals(history.alarms[0].message, message);
    assertEquals([history.alarms[0].level, history.alarms[0].device], ["critical", "boiler-7"]);

    // Byte for byte what the server itself would sign for the same id and expiry.
    const token = lines.get("token")!;
    const claims = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    assertEquals(Object.keys(claims), ["sub", "exp"]);
    assertEquals(token, await new TokenKeys([SECRET]).sign("plant-3", claims.exp * 1000));
    const lifetime = claims.exp * 1000 - Date.now();
    assert(lifetime > 540_000 && lifetime <= 600_000, `token lifetime ${lifetime} ms`);

    // The token opens the id's socket (resuming after the first alarm), which gets the next one.
    await using socket = await TestClient.open(
      `${base.replace("http", "ws")}/websocket/plant-3?token=${token}&since=${published.seq}`,
    );
    const second = await fetch(`${base}/api/alarms/plant-3`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ level: "low", message: "second" }),
    });
    assertEquals(second.status, 202);
    const answer = await second.json();
    const alarm = JSON.parse(await socket.next());
    assertEquals([alarm.id, alarm.seq, alarm.message], [answer.id, 2, "second"]);
    assertEquals(socket.pending, 0);
  },
});

Deno.test({
  name: "Publisher.java: a wrong API key exits 1 with the server's error code, a bad id exits 2",
  ignore: JAVA === undefined,
  async fn() {
    await using server = new ServerProcess({ ALARM_API_KEY: KEY, WS_TOKEN_SECRET: SECRET });
    const base = `http://127.0.0.1:${await server.port()}`;
    const wrong = await publisher([base, "plant-3"], { ALARM_API_KEY: "w".repeat(24) });
    assertEquals(wrong.code, 1);
    assertEquals(wrong.stdout, "");
    assertMatch(wrong.stderr, /^error 401 \{"error":\{"code":"unauthorized",/);

    const badId = await publisher([base, "plant 3"], { ALARM_API_KEY: KEY });
    assertEquals(badId.code, 2);
    assertMatch(badId.stderr, /^usage: /);
    // Nothing reached the store.
    const history = await fetch(`${base}/api/alarms/plant-3`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assertEquals((await history.json()).alarms, []);
  },
});

Deno.test({
  name: "the Spring Boot example's integration test passes against this checkout",
  ignore: JAVA === undefined || MVN === undefined,
  async fn() {
    // The first run downloads Spring Boot from Maven Central (a minute or two); later ones take
    // about 20 s.
    const out = await run(MVN!, ["-B", "-q", "test"], {
      cwd: SPRING_BOOT,
      env: { DENO: Deno.execPath(), ALARMCAST_REPO: root.pathname },
    }, 600_000);
    assertEquals(out.code, 0, `mvn -B -q test failed:\n${out.stdout.slice(-8000)}${out.stderr}`);
  },
});

Deno.test({
  name: "the Spring Boot example's test, without a Deno to run, says how to point it at one",
  ignore: JAVA === undefined || MVN === undefined,
  async fn() {
    // What the README's npx route leaves: no deno on PATH (here: DENO naming none).
    const out = await run(MVN!, ["-B", "-o", "test"], {
      cwd: SPRING_BOOT,
      env: { DENO: "/nonexistent/deno", ALARMCAST_REPO: root.pathname },
    }, 600_000);
    assertEquals(out.code === 0, false);
    assertMatch(out.stdout, /Cannot run Deno as "\/nonexistent\/deno": put deno on PATH/);
    assertMatch(out.stdout, /or set DENO to its path/);
  },
});
