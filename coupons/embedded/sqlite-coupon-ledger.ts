import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Dependency } from '../../core/dependencies.ts';
import { isLive, type Coupon } from '../coupon.ts';
import {
  budgetLeft,
  claimId,
  definitionJson,
  fromCents,
  fromDefinition,
  redemptionId,
  toCents,
  toStatus,
  type ClaimRequest,
  type ClaimResult,
  type CouponLedger,
  type CouponStatus,
  type RedeemRequest,
  type RedeemResult,
} from '../ledger.ts';

export interface SqliteCouponLedgerOptions {
  /** File path (`SHELF_DATA_DIR/coupons/coupons.sqlite`), or ":memory:" for tests. */
  file: string;
  /** How long a claim waits for another connection's transaction before failing (ms). */
  busyTimeoutMs?: number;
}

interface CouponRow {
  id: string;
  def: string;
  active: number;
  valid_from: number;
  valid_until: number;
  stock: number;
  per_user_limit: number;
  budget_cents: number | null;
  claimed: number;
  redeemed: number;
  spent_cents: number;
}

/**
 * The embedded ledger. Each claim and redemption is one `BEGIN IMMEDIATE` transaction: the
 * write lock is taken before anything is read, so any number of connections and processes on
 * the same file see each other's claims and can never both take the last unit of stock.
 */
export class SqliteCouponLedger implements CouponLedger {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly claimTx;
  private readonly redeemTx;
  private readonly defineTx;

  constructor(opts: SqliteCouponLedgerOptions) {
    if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file, { timeout: opts.busyTimeoutMs ?? 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS coupons (
        id TEXT PRIMARY KEY, def TEXT NOT NULL, active INTEGER NOT NULL,
        valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL, stock INTEGER NOT NULL, per_user_limit INTEGER NOT NULL,
        budget_cents INTEGER, claimed INTEGER NOT NULL DEFAULT 0, redeemed INTEGER NOT NULL DEFAULT 0, spent_cents INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS holders (
        coupon_id TEXT NOT NULL, subject TEXT NOT NULL, claims INTEGER NOT NULL DEFAULT 0, redeemed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (coupon_id, subject)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS claims (
        coupon_id TEXT NOT NULL, idem_key TEXT NOT NULL, subject TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, stock_left INTEGER NOT NULL,
        PRIMARY KEY (coupon_id, idem_key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS redemptions (
        coupon_id TEXT NOT NULL, idem_key TEXT NOT NULL, subject TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL,
        discount_cents INTEGER NOT NULL, budget_left_cents INTEGER,
        PRIMARY KEY (coupon_id, idem_key)
      ) WITHOUT ROWID;
    `);
    this.stmts = {
      coupon: this.db.prepare<[string], CouponRow>('SELECT * FROM coupons WHERE id = ?'),
      all: this.db.prepare<[], CouponRow>('SELECT * FROM coupons ORDER BY id'),
      insert: this.db.prepare<[string, string, number, number, number, number, number, number | null]>(
        `INSERT INTO coupons (id, def, active, valid_from, valid_until, stock, per_user_limit, budget_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET def = excluded.def, active = excluded.active, valid_from = excluded.valid_from,
           valid_until = excluded.valid_until, stock = excluded.stock, per_user_limit = excluded.per_user_limit, budget_cents = excluded.budget_cents`,
      ),
      deactivate: this.db.prepare<[string]>('UPDATE coupons SET active = 0 WHERE id = ?'),
      holder: this.db.prepare<[string, string], { claims: number; redeemed: number }>(
        'SELECT claims, redeemed FROM holders WHERE coupon_id = ? AND subject = ?',
      ),
      addHolderClaim: this.db.prepare<[string, string]>(
        'INSERT INTO holders (coupon_id, subject, claims) VALUES (?, ?, 1) ON CONFLICT(coupon_id, subject) DO UPDATE SET claims = claims + 1',
      ),
      addHolderRedeem: this.db.prepare<[string, string]>(
        'UPDATE holders SET redeemed = redeemed + 1 WHERE coupon_id = ? AND subject = ?',
      ),
      claimRecord: this.db.prepare<[string, string], { subject: string; n: number; at: number; stock_left: number }>(
        'SELECT subject, n, at, stock_left FROM claims WHERE coupon_id = ? AND idem_key = ?',
      ),
      insertClaim: this.db.prepare<[string, string, string, number, number, number]>(
        'INSERT INTO claims (coupon_id, idem_key, subject, n, at, stock_left) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      countClaim: this.db.prepare<[string]>('UPDATE coupons SET claimed = claimed + 1 WHERE id = ?'),
      redemptionRecord: this.db.prepare<
        [string, string],
        { subject: string; n: number; discount_cents: number; budget_left_cents: number | null }
      >('SELECT subject, n, discount_cents, budget_left_cents FROM redemptions WHERE coupon_id = ? AND idem_key = ?'),
      insertRedemption: this.db.prepare<[string, string, string, number, number, number, number | null]>(
        'INSERT INTO redemptions (coupon_id, idem_key, subject, n, at, discount_cents, budget_left_cents) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      countRedemption: this.db.prepare<[number, string]>(
        'UPDATE coupons SET redeemed = redeemed + 1, spent_cents = spent_cents + ? WHERE id = ?',
      ),
    };

    this.defineTx = this.db.transaction((c: Coupon): 'created' | 'updated' => {
      const existed = this.stmts.coupon.get(c.id) !== undefined;
      this.stmts.insert.run(
        c.id,
        definitionJson(c),
        c.active ? 1 : 0,
        c.valid_from,
        c.valid_until,
        c.stock,
        c.per_user_limit,
        c.budget === undefined ? null : toCents(c.budget),
      );
      return existed ? 'updated' : 'created';
    });

    this.claimTx = this.db.transaction((r: ClaimRequest): ClaimResult => {
      const c = this.stmts.coupon.get(r.coupon_id);
      if (!c) return { status: 'not_found' };
      const stockLeft = Math.max(0, c.stock - c.claimed);
      const prior = this.stmts.claimRecord.get(r.coupon_id, r.idempotency_key);
      if (prior) {
        if (prior.subject !== r.subject) return { status: 'idempotency_conflict' };
        return {
          status: 'duplicate',
          claim_id: claimId(r.coupon_id, prior.n),
          claimed_at: prior.at,
          stock_left: prior.stock_left,
        };
      }
      if (!live(c, r.now)) return { status: 'not_active', stock_left: stockLeft };
      if (c.budget_cents !== null && c.spent_cents >= c.budget_cents)
        return { status: 'budget_exhausted', stock_left: stockLeft };
      const held = this.stmts.holder.get(r.coupon_id, r.subject)?.claims ?? 0;
      if (held >= c.per_user_limit) return { status: 'limit_reached', stock_left: stockLeft };
      if (stockLeft <= 0) return { status: 'out_of_stock', stock_left: 0 };
      const n = c.claimed + 1;
      this.stmts.countClaim.run(r.coupon_id);
      this.stmts.addHolderClaim.run(r.coupon_id, r.subject);
      this.stmts.insertClaim.run(r.coupon_id, r.idempotency_key, r.subject, n, r.now, stockLeft - 1);
      return { status: 'claimed', claim_id: claimId(r.coupon_id, n), claimed_at: r.now, stock_left: stockLeft - 1 };
    });

    this.redeemTx = this.db.transaction((r: RedeemRequest): RedeemResult => {
      const c = this.stmts.coupon.get(r.coupon_id);
      if (!c) return { status: 'not_found' };
      const prior = this.stmts.redemptionRecord.get(r.coupon_id, r.idempotency_key);
      if (prior) {
        if (prior.subject !== r.subject) return { status: 'idempotency_conflict' };
        return {
          status: 'duplicate',
          redemption_id: redemptionId(r.coupon_id, prior.n),
          discount: fromCents(prior.discount_cents),
          budget_left: prior.budget_left_cents === null ? null : fromCents(prior.budget_left_cents),
        };
      }
      const leftNow = budgetLeft(c.budget_cents, c.spent_cents);
      if (!live(c, r.now)) return { status: 'not_active', budget_left: leftNow };
      const holder = this.stmts.holder.get(r.coupon_id, r.subject);
      if (!holder || holder.claims <= holder.redeemed) return { status: 'not_claimed', budget_left: leftNow };
      const d = toCents(r.discount);
      if (c.budget_cents !== null && c.spent_cents + d > c.budget_cents)
        return { status: 'budget_exhausted', budget_left: leftNow };
      const n = c.redeemed + 1;
      const leftCents = c.budget_cents === null ? null : c.budget_cents - c.spent_cents - d;
      this.stmts.countRedemption.run(d, r.coupon_id);
      this.stmts.addHolderRedeem.run(r.coupon_id, r.subject);
      this.stmts.insertRedemption.run(r.coupon_id, r.idempotency_key, r.subject, n, r.now, d, leftCents);
      return {
        status: 'redeemed',
        redemption_id: redemptionId(r.coupon_id, n),
        discount: fromCents(d),
        budget_left: budgetLeft(c.budget_cents, c.spent_cents + d),
      };
    });
  }

  async define(c: Coupon): Promise<'created' | 'updated'> {
    return this.defineTx.immediate(c);
  }

  async get(id: string): Promise<Coupon | undefined> {
    const row = this.stmts.coupon.get(id);
    return row && fromDefinition(row.def, row.active === 1);
  }

  async list(): Promise<Coupon[]> {
    return this.stmts.all.all().map((row) => fromDefinition(row.def, row.active === 1));
  }

  async deactivate(id: string): Promise<boolean> {
    return this.stmts.deactivate.run(id).changes > 0;
  }

  async claim(r: ClaimRequest): Promise<ClaimResult> {
    return this.claimTx.immediate(r);
  }

  async redeem(r: RedeemRequest): Promise<RedeemResult> {
    return this.redeemTx.immediate(r);
  }

  async status(ids: readonly string[]): Promise<Map<string, CouponStatus>> {
    const out = new Map<string, CouponStatus>();
    for (const id of ids) {
      const c = this.stmts.coupon.get(id);
      if (c) out.set(id, toStatus(c));
    }
    return out;
  }

  async claimsOf(subject: string, ids: readonly string[]): Promise<Map<string, number>> {
    return new Map(ids.map((id) => [id, this.stmts.holder.get(id, subject)?.claims ?? 0]));
  }

  dependencies(): Dependency[] {
    return [];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function live(c: CouponRow, now: number): boolean {
  return isLive({ active: c.active === 1, valid_from: c.valid_from, valid_until: c.valid_until }, now);
}
