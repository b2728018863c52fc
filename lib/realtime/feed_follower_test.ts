import { assert, assertEquals } from "@std/assert";
import type { FeedEntry, RelayedMessage } from "../store/mod.ts";
import { FeedFollower, type FeedReader } from "./feed_follower.ts";

/** A feed whose heads the test pushes and whose entries it lists; counts what is asked. */
class ScriptedFeed implements FeedReader {
  readonly entries: FeedEntry[][] = [[], []];
  watches = 0;
  reads = 0;
  #push: ReadableStreamDefaultController<number[]> | undefined;
  /** Replaces `readFeed` (a broken store). */
  misread: ((bucket: number, after: number) => FeedEntry[]) | undefined;

  watchFeed(): ReadableStream<number[]> {
    this.watches++;
    return new ReadableStream({
      start: (controller) => {
        this.#push = controller;
        controller.enqueue(this.entries.map((b) => b.at(-1)?.n ?? 0));
      },
      cancel: () => {
        this.#push = undefined;
      },
    });
  }

  readFeed(bucket: number, after: number): Promise<FeedEntry[]> {
    this.reads++;
    if (this.misread) return Promise.resolve(this.misread(bucket, after));
    return Promise.resolve(this.entries[bucket]!.filter((e) => e.n > after));
  }

  /** Appends entries to `bucket` (numbered on), and pushes the new heads. */
  append(bucket: number, ...entries: ({ target: string; seq: number } | RelayedMessage)[]): void {
    const list = this.entries[bucket]!;
    for (const entry of entries) {
      const n = (list.at(-1)?.n ?? 0) + 1;
      list.push("seq" in entry ? { n, ...entry } : { n, target: "m", message: entry });
    }
    this.heads();
  }

  /** Pushes the current heads, as a watch does when they change. */
  heads(): void {
    this.#push?.enqueue(this.entries.map((b) => b.at(-1)?.n ?? 0));
  }

  /** Ends the open watch, as a KV Connect stream that dropped does. */
  end(): void {
    this.#push?.close();
    this.#push = undefined;
  }
}

function setup() {
  const feed = new ScriptedFeed();
  const told: string[] = [];
  const errors: unknown[] = [];
  let wake = () => {};
  const note = (line: string) => (told.push(line), wake());
  const follower = new FeedFollower(feed, "me", {
    onAlarm: (target, seq) => note(`alarm ${target} ${seq}`),
    onMessage: (target, message) => note(`message ${target} ${message.origin}`),
    onResync: (bucket) => (note(`resync ${bucket}`), Promise.resolve()),
    onError: (error) => (errors.push(error), wake()),
  });
  /** Resolves once `check` holds, re-checked whenever the follower tells or reports anything. */
  const until = (check: () => boolean) =>
    new Promise<void>((resolve) => {
      wake = () => check() && resolve();
      wake();
    });
  return { feed, follower, told, errors, until, [Symbol.dispose]: () => follower.stop() };
}

Deno.test("feed follower: starts with a resync, then tells each entry past its cursor, in order; others' messages only", async () => {
  using t = setup();
  t.follower.start();
  await t.until(() => t.told.length === 1);
  t.feed.append(0, { target: "a", seq: 1 }, { target: "b", seq: 4 });
  t.feed.append(1, { event: {}, except: "", origin: "me" }, { event: {}, except: "", origin: "x" });
  await t.until(() => t.told.length === 4);
  assertEquals(t.told, ["resync undefined", "alarm a 1", "alarm b 4", "message m x"]);
});

Deno.test("feed follower: a page's alarms are told once per id, up to its last seq there", async () => {
  using t = setup();
  t.follower.start();
  await t.until(() => t.told.length === 1);
  const flood = [1, 2, 3].map((seq) => ({ target: "a", seq }));
  t.feed.append(0, ...flood, { target: "b", seq: 1 }, { target: "a", seq: 4 });
  await t.until(() => t.told.length === 3);
  assertEquals(t.told, ["resync undefined", "alarm a 4", "alarm b 1"]);
  assertEquals(t.feed.reads, 1);
});

Deno.test("feed follower: heads a watch queued while it read are not read one by one", async () => {
  using t = setup();
  t.follower.start();
  await t.until(() => t.told.length === 1);
  // Three changes, three watch events, before the follower reads: one read takes them all.
  for (const seq of [1, 2, 3]) t.feed.append(0, { target: "a", seq });
  await t.until(() => t.told.length === 2);
  assertEquals([t.told, t.feed.reads], [["resync undefined", "alarm a 3"], 1]);
});

Deno.test("feed follower: entries that expired unread ask for a resync of their bucket", async () => {
  using t = setup();
  t.feed.append(1, { target: "a", seq: 1 });
  t.follower.start();
  await t.until(() => t.told.length === 1);
  t.feed.append(1, { target: "a", seq: 2 }, { target: "a", seq: 3 });
  t.feed.entries[1]!.splice(1, 1); // n=2 expired before it was read
  t.feed.heads();
  await t.until(() => t.told.length === 3);
  assertEquals(t.told, ["resync undefined", "resync 1", "alarm a 3"]);
});

Deno.test("feed follower: a read that moves nothing while behind is reported and paused on, never spun", async () => {
  using t = setup();
  t.follower.start();
  await t.until(() => t.told.length === 1);
  t.feed.misread = () => [{ n: 1, target: "a", seq: 1 }]; // whatever is asked, the first entry
  const started = performance.now();
  t.feed.append(0, { target: "a", seq: 1 }, { target: "a", seq: 2 });
  await t.until(() => t.errors.length === 3);
  const elapsed = performance.now() - started;
  assert(elapsed >= 300, `paused ${elapsed} ms in all`);
  assert(t.feed.reads <= 5, `${t.feed.reads} reads`);
  assert(String(t.errors[0]).includes("Feed bucket 0 read after 1 returned nothing newer"));
  t.feed.misread = undefined; // the store is right again: the follower catches up by itself
  await t.until(() => t.told.includes("alarm a 2"));
});

Deno.test("feed follower: a watch that ends is opened again after a pause; stop ends it for good", async () => {
  using t = setup();
  t.follower.start();
  await t.until(() => t.told.length === 1);
  t.feed.end();
  t.feed.append(0, { target: "a", seq: 1 }); // while no watch is open
  await t.until(() => t.told.includes("alarm a 1"));
  assertEquals(t.feed.watches, 2);
  t.follower.stop();
  assertEquals(t.follower.running, false);
  t.feed.end();
  t.feed.append(0, { target: "a", seq: 2 });
  await new Promise((resolve) => setTimeout(resolve, 150)); // past the first pause
  assertEquals([t.feed.watches, t.told.includes("alarm a 2")], [2, false]);
});
