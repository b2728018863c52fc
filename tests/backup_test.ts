/**
 * docs/operations.md's backup recipe, run as printed against a live server process, and its
 * restore: the backup holds what was stored when it was taken, and the ids' logs go on from there.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { ServerProcess } from "./support/process.ts";
import { requiredTool } from "./support/tools.ts";

const SQLITE3 = requiredTool("sqlite3", ["sqlite3"], "apt-get install sqlite3", "the backup test");

const doc = await Deno.readTextFile(new URL("../docs/operations.md", import.meta.url));
const section = doc.slice(doc.indexOf("## Backups and restores"));
const recipe = section.match(/```sh\n([\s\S]*?)```/)![1]!;
/** The recipe's backup command (its first line only names the paths, which the test sets). */
const command = recipe.split("\n").find((line) => line.includes(`sqlite3 "$KV_PATH"`))!;

Deno.test({
  name: "docs/operations.md: a backup taken while the server writes restores what it held",
  ignore: SQLITE3 === undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const live = `${dir}/kv.sqlite3`;
      const backup = `${dir}/backup.sqlite3`;
      let seq = 0;
      {
        await using proc = new ServerProcess({ KV_PATH: live });
        const base = `http://127.0.0.1:${await proc.port()}`;
        const publish = async (body: unknown) => {
          const res = await fetch(`${base}/api/alarms/bk`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          assertEquals(res.status, 202);
          return (await res.json()).seq as number;
        };
        for (let n = 1; n <= 3; n++) seq = await publish({ n, key: `k${n}` });
        const out = await new Deno.Command("bash", {
          args: ["-euo", "pipefail", "-c", command],
          env: { KV_PATH: live, BACKUP: backup },
          stderr: "piped",
        }).output();
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        // Readable by its owner only, whatever the shell's umask.
        assertEquals((await Deno.stat(backup)).mode! & 0o777, 0o600);
        await publish({ n: 4 }); // after the backup: not in it
        proc.child.kill("SIGTERM");
        assertEquals((await proc.status).code, 0);
      }
      assertEquals(seq, 3);
      // Restore as the document says: the backup in place of the database, no -wal or -shm.
      const restored = `${dir}/restored`;
      await Deno.mkdir(restored);
      await Deno.copyFile(backup, `${restored}/kv.sqlite3`);
      await using proc = new ServerProcess({ KV_PATH: `${restored}/kv.sqlite3` });
      const base = `http://127.0.0.1:${await proc.port()}`;
      const history = await (await fetch(`${base}/api/alarms/bk`)).json();
      assertEquals(history.alarms.map((a: { n: number }) => a.n), [1, 2, 3]);
      const conditions = await (await fetch(`${base}/api/conditions/bk`)).json();
      assertEquals(conditions.conditions.map((c: { key: string }) => c.key).sort(), [
        "k1",
        "k2",
        "k3",
      ]);
      const next = await fetch(`${base}/api/alarms/bk`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ n: 5 }),
      });
      assertEquals([next.status, (await next.json()).seq], [202, 4]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
