/**
 * Reading an id's whole stored history through the API, page by page, as a checker of what was
 * stored does (tests and the fault soak).
 *
 * @module
 */

/** One stored alarm as the history route returns it; `n` is the publishers' own counter. */
export interface StoredAlarm {
  seq: number;
  n?: number;
}

/** Every alarm `GET <base>/api/alarms/<id>` returns, oldest first, across pages. */
export async function storedAlarms(base: string, id: string): Promise<StoredAlarm[]> {
  const stored: StoredAlarm[] = [];
  for (let after = 0;;) {
    const res = await fetch(`${base}/api/alarms/${id}?after=${after}&limit=1000`);
    const page = await res.json();
    stored.push(...page.alarms);
    if (page.alarms.length < 1000) return stored;
    after = page.alarms.at(-1).seq;
  }
}
