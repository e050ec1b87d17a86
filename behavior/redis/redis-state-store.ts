import type { Redis } from 'ioredis';
import type { Dependency } from '../../core/dependencies.ts';
import { StateConflictError, type DeadLetter, type StateCommit, type StateStore } from '../state-store.ts';
import { decayedAt, forwardWeight, nextEpoch, rescaleFactor } from '../trending.ts';
import type { UserState } from '../user-state.ts';
import {
  DEFAULT_APPLIED_TTL_MS,
  DEFAULT_COOC_CAP,
  DEFAULT_DEAD_LETTER_CAP,
  DEFAULT_USER_TTL_MS,
  stateKeys,
  type StateKeys,
} from './redis-keys.ts';
import { connectRedis, redisDependency } from './redis-connect.ts';
import { topK, type Scored } from './redis-top.ts';

export interface RedisStateOptions {
  /** Config `backends.redisUrl`, e.g. redis://127.0.0.1:6379/0. */
  url: string;
  /** Config `backends.namespace`: prefixes every key. */
  namespace: string;
  /** BehaviorConfig `trending_half_life_ms`; fixed for the life of the data (checked on open). */
  trendingHalfLifeMs: number;
  userTtlMs?: number;
  /** Must be at least the stream's retention: see DEFAULT_APPLIED_TTL_MS. */
  appliedTtlMs?: number;
  coocCap?: number;
  deadLetterCap?: number;
}

/**
 * The production state store. A commit is one MULTI/EXEC guarded by WATCH on the user states
 * it replaces, so a batch's effects and its event ids land together or not at all, and a
 * writer that raced another gets StateConflictError instead of overwriting it. Counters are
 * only ever incremented (trending by forward decay), so concurrent consumers never conflict
 * on them.
 */
export class RedisStateStore implements StateStore {
  readonly kind = 'redis';
  private readonly keys: StateKeys;
  /** Commits serialise here: WATCH state belongs to a connection, and this one is theirs alone. */
  private commits: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly reader: Redis,
    private readonly writer: Redis,
    private readonly opts: RedisStateOptions,
  ) {
    this.keys = stateKeys(opts.namespace);
  }

  /** Connects both connections; fails with a readable message when Redis does not answer. */
  static async open(opts: RedisStateOptions): Promise<RedisStateStore> {
    const connect = (name: string) => connectRedis(opts.url, name);
    const reader = await connect('state');
    let writer: Redis;
    try {
      writer = await connect('state-commit');
    } catch (err) {
      reader.disconnect();
      throw err;
    }
    const store = new RedisStateStore(reader, writer, opts);
    try {
      await store.checkHalfLife();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Stored trending sums are only comparable under one half-life: refuse to mix two. */
  private async checkHalfLife(): Promise<void> {
    const stored = await this.reader.hget(this.keys.meta, 'trend_half_life_ms');
    if (stored !== null && Number(stored) !== this.opts.trendingHalfLifeMs) {
      throw new Error(
        `Redis namespace "${this.opts.namespace}" holds trending built with a half-life of ${stored} ms, ` +
          `not ${this.opts.trendingHalfLifeMs} ms: use the same trending_half_life_ms, or another namespace`,
      );
    }
  }

  async applied(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const found = await this.reader.mget(eventIds.map((id) => this.keys.applied(id)));
    return new Set(eventIds.filter((_, i) => found[i] !== null));
  }

  async getUsers(subjects: readonly string[]): Promise<Map<string, UserState>> {
    const out = new Map<string, UserState>();
    if (subjects.length === 0) return out;
    const found = await this.reader.mget(subjects.map((s) => this.keys.user(s)));
    subjects.forEach((s, i) => {
      const json = found[i];
      if (json) out.set(s, JSON.parse(json) as UserState);
    });
    return out;
  }

  commit(c: StateCommit): Promise<void> {
    const run = this.commits.then(() => this.commitOnce(c));
    this.commits = run.catch(() => {});
    return run;
  }

  private async commitOnce(c: StateCommit): Promise<void> {
    const k = this.keys;
    const w = this.writer;
    const subjects = c.users.map((u) => u.subject);
    const deadPositions = [...new Set(c.deadLetters.map((d) => d.position))];
    const trending = c.effects.trending.length > 0;
    const watched = [
      ...subjects.map(k.user),
      ...deadPositions.map(k.deadAt),
      ...(trending ? [k.meta, k.trendScopes] : []),
    ];
    if (watched.length > 0) await w.watch(...watched);
    let sent = false;
    try {
      const [stored, deadSeen, epochRaw, scopeList] = await Promise.all([
        subjects.length > 0 ? w.mget(subjects.map(k.user)) : [],
        deadPositions.length > 0 ? w.mget(deadPositions.map(k.deadAt)) : [],
        trending ? w.hget(k.meta, 'trend_epoch') : null,
        trending ? w.smembers(k.trendScopes) : [],
      ]);
      const conflicts = c.users.filter((u, i) => storedVersion(stored[i]) !== u.version - 1).map((u) => u.subject);
      if (conflicts.length > 0) throw new StateConflictError(conflicts);

      const m = w.multi();
      const userTtl = this.opts.userTtlMs ?? DEFAULT_USER_TTL_MS;
      const appliedTtl = this.opts.appliedTtlMs ?? DEFAULT_APPLIED_TTL_MS;
      for (const u of c.users) m.set(k.user(u.subject), JSON.stringify(u), 'PX', userTtl);
      for (const id of c.eventIds) m.set(k.applied(id), '1', 'PX', appliedTtl);

      if (trending) this.queueTrending(m, c.effects.trending, epochRaw, new Set(scopeList));

      const coocCap = this.opts.coocCap ?? DEFAULT_COOC_CAP;
      const touched = new Set<string>();
      for (const x of c.effects.cooc) {
        m.zincrby(k.cooc(x.a), x.w, x.b);
        touched.add(x.a);
      }
      // Keep the strongest coocCap neighbours: rank 0 is the weakest.
      for (const a of touched) m.zremrangebyrank(k.cooc(a), 0, -(coocCap + 1));
      for (const x of c.effects.counts) m.hincrbyfloat(k.count, x.id, x.w);

      const seen = new Set(deadPositions.filter((_, i) => deadSeen[i] !== null));
      for (const d of c.deadLetters) {
        if (seen.has(d.position)) continue;
        seen.add(d.position);
        m.lpush(k.dead, JSON.stringify(d));
        m.set(k.deadAt(d.position), '1', 'PX', appliedTtl);
      }
      if (c.deadLetters.length > 0) m.ltrim(k.dead, 0, (this.opts.deadLetterCap ?? DEFAULT_DEAD_LETTER_CAP) - 1);

      sent = true;
      const res = await m.exec();
      // null: a watched key changed after it was read; nothing was written.
      if (res === null) throw new StateConflictError(subjects);
      const failed = res.find(([err]) => err);
      if (failed) throw failed[0]!;
    } finally {
      if (!sent && watched.length > 0) await w.unwatch();
    }
  }

  /**
   * Forward decay with the epoch kept in Redis. A rescale (all trend sets multiplied down,
   * epoch moved) happens inside the same transaction, at the event whose exponent passes the
   * limit, so a replay of the stream rescales at the same points and gives the same sums.
   */
  private queueTrending(
    m: ReturnType<Redis['multi']>,
    effects: StateCommit['effects']['trending'],
    epochRaw: string | null,
    scopes: Set<string>,
  ): void {
    const k = this.keys;
    const h = this.opts.trendingHalfLifeMs;
    let epoch = epochRaw === null ? undefined : Number(epochRaw);
    if (epoch === undefined) m.hset(k.meta, 'trend_half_life_ms', String(h));
    for (const t of effects) {
      if (epoch === undefined) {
        epoch = t.ts;
        m.hset(k.meta, 'trend_epoch', String(epoch));
      }
      const next = nextEpoch(t.ts, { epoch, halfLifeMs: h });
      if (next !== undefined) {
        const f = rescaleFactor(epoch, next, h);
        for (const s of scopes) m.zunionstore(k.trend(s), 1, k.trend(s), 'WEIGHTS', f);
        epoch = next;
        m.hset(k.meta, 'trend_epoch', String(epoch));
      }
      if (!scopes.has(t.scope)) {
        scopes.add(t.scope);
        m.sadd(k.trendScopes, t.scope);
      }
      m.zincrby(k.trend(t.scope), forwardWeight(t.w, t.ts, { epoch, halfLifeMs: h }), t.id);
    }
  }

  async trending(scope: string, k: number): Promise<Scored[]> {
    if (k <= 0) return [];
    // One transaction, so the sums and the epoch they are relative to belong together.
    const res = await this.reader
      .multi()
      .zrevrange(this.keys.trend(scope), 0, k - 1, 'WITHSCORES')
      .hget(this.keys.meta, 'trend_epoch')
      .exec();
    const head = res?.[0]?.[1] as string[] | undefined;
    const epochRaw = res?.[1]?.[1] as string | null | undefined;
    const rows = await topK(this.reader, this.keys.trend(scope), k, head ?? []);
    if (epochRaw === null || epochRaw === undefined) return rows;
    const d = { epoch: Number(epochRaw), halfLifeMs: this.opts.trendingHalfLifeMs };
    const now = Math.max(Date.now(), d.epoch);
    // Relative order is what matters; decay to now only while it stays representable.
    return rows.map((r) => ({ id: r.id, score: decayedAt(r.score, now, d) || r.score }));
  }

  cooccurring(id: string, k: number): Promise<Scored[]> {
    return topK(this.reader, this.keys.cooc(id), k);
  }

  async itemCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (ids.length === 0) return out;
    const found = await this.reader.hmget(this.keys.count, ...ids);
    ids.forEach((id, i) => {
      const v = found[i];
      if (v !== null && v !== undefined) out.set(id, Number(v));
    });
    return out;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    if (limit <= 0) return [];
    return (await this.reader.lrange(this.keys.dead, 0, limit - 1)).map((s) => JSON.parse(s) as DeadLetter);
  }

  dependencies(): Dependency[] {
    return [redisDependency(this.reader, this.opts.url)];
  }

  async close(): Promise<void> {
    await this.commits;
    await Promise.allSettled([this.reader.quit(), this.writer.quit()]);
  }
}

/** Absent key = version 0: the state a consumer starts a new subject from. */
function storedVersion(json: string | null | undefined): number {
  return json ? (JSON.parse(json) as UserState).version : 0;
}
