import type { ServedEntry } from './served-log.ts';

/**
 * The served log joined with the behaviour events by request_id: what a response showed, and
 * what the shopper did with it (impressions, clicks, carts, purchases naming that response).
 * The one join behind every dataset learned from the service's own traffic: the ranker's
 * training rows (ranking/training-data.ts) and the text tower's judged query pairs
 * (models/text_embedder/log-pairs.ts). Each reads the engagement it needs from the same join.
 */

/** The event types the join keeps: what a shopper did with a response's items. */
export const JOINED_TYPES = ['impression', 'click', 'add_to_cart', 'purchase'] as const;
export type JoinedType = (typeof JOINED_TYPES)[number];

/** Product ids by event type, of the events that named one response. */
export type ResponseEvents = Record<JoinedType, Set<string>>;

export interface JoinedResponse {
  served: ServedEntry;
  /** Undefined: no event named the response. */
  events: ResponseEvents | undefined;
}

interface EventLike {
  type?: string;
  request_id?: string;
  product_id?: string;
}

const JOINED = new Set<string>(JOINED_TYPES);

export class RequestJoin {
  private readonly byRequest = new Map<string, ResponseEvents>();
  private readonly answered = new Set<string>();

  /** Folds the events (JSON strings, stream order; anything else is skipped) by request_id. */
  constructor(events: Iterable<string>) {
    for (const raw of events) {
      let e: EventLike;
      try {
        e = JSON.parse(raw) as EventLike;
      } catch {
        continue;
      }
      if (e.request_id === undefined || e.product_id === undefined || e.type === undefined) continue;
      if (!JOINED.has(e.type)) continue;
      let r = this.byRequest.get(e.request_id);
      if (!r)
        this.byRequest.set(
          e.request_id,
          (r = { impression: new Set(), click: new Set(), add_to_cart: new Set(), purchase: new Set() }),
        );
      r[e.type as JoinedType].add(e.product_id);
    }
  }

  /**
   * The served entries (JSON strings, log order; anything else is skipped) that `keep` accepts,
   * each with the events that named it, read lazily. A kept entry's request is answered: its
   * events are not unmatched().
   */
  *responses(served: Iterable<string>, keep: (s: ServedEntry) => boolean): Generator<JoinedResponse> {
    for (const raw of served) {
      let s: ServedEntry;
      try {
        s = JSON.parse(raw) as ServedEntry;
      } catch {
        continue;
      }
      if (!keep(s)) continue;
      this.answered.add(s.request_id);
      yield { served: s, events: this.byRequest.get(s.request_id) };
    }
  }

  /** Once responses() was read through: the events of requests no kept entry answered, as `count` counts them. */
  unmatched(count: (events: ResponseEvents) => number): number {
    let n = 0;
    for (const [rid, events] of this.byRequest) if (!this.answered.has(rid)) n += count(events);
    return n;
  }
}

/**
 * Whether the shopper saw a shown item: it was impressed, or the response logged no
 * impressions at all (then every shown item counts as seen).
 */
export function wasSeen(events: ResponseEvents | undefined, id: string): boolean {
  return !events || events.impression.size === 0 || events.impression.has(id);
}
