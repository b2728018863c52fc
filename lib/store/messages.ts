/**
 * Client-to-client messages (`send`) through KV, so they reach sessions on every isolate and
 * instance. Messages are ephemeral: kept a minute, never replayed to a client that connects later.
 *
 * @module
 */
import { StoreError } from "../core/mod.ts";
import { guard } from "./guard.ts";
import { messageHeadKey, messageKey } from "./schema.ts";

/** A message as stored: the encoded frame and the session that must not get it back. */
export interface StoredMessage {
  seq: number;
  frame: string;
  except: string;
}

const MESSAGE_TTL_MS = 60_000;
const MAX_ATTEMPTS = 100;

/** Appends a message frame for `target` and returns its seq. */
export async function appendMessage(
  kv: Deno.Kv,
  target: string,
  frame: string,
  except: string,
): Promise<StoredMessage> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const head = await guard(() => kv.get<number>(messageHeadKey(target)));
    const seq = (head.value ?? 0) + 1;
    const message = { seq, frame, except };
    const result = await guard(() =>
      kv.atomic().check(head).set(messageHeadKey(target), seq)
        .set(messageKey(target, seq), message, { expireIn: MESSAGE_TTL_MS }).commit()
    );
    if (result.ok) return message;
  }
  throw new StoreError(`Too much contention sending to ${JSON.stringify(target)}`);
}

/** Messages of `target` with seq in (`after`, `upTo`], in order. Expired ones are skipped. */
export async function readMessages(
  kv: Deno.Kv,
  target: string,
  after: number,
  upTo: number,
): Promise<StoredMessage[]> {
  const list = kv.list<StoredMessage>({
    start: messageKey(target, after + 1),
    end: messageKey(target, upTo + 1),
  });
  return await guard(() => Array.fromAsync(list, (entry) => entry.value));
}

/** The last message seq of `target`. */
export async function messageHead(kv: Deno.Kv, target: string): Promise<number> {
  return (await guard(() => kv.get<number>(messageHeadKey(target)))).value ?? 0;
}
