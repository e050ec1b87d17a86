import os from 'node:os';
import { errors, type Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { IndexBusyError } from '../index-backend.ts';

/**
 * One index writer per namespace across machines, as indexer.lock is for an embedded folder:
 * without it two fresh builds would sweep each other's half-built index as abandoned. The lock
 * is a document created with op_type=create (so only one writer can create it) holding a
 * lease that the holder renews while it writes; a writer that died stops renewing, and its
 * lease expires instead of blocking the namespace forever. No refresh is needed: create, get,
 * update and delete by id are realtime in Elasticsearch.
 */
const LeaseSchema = z.object({ owner: z.string(), expires_at: z.number() });

export interface LockOptions {
  /** How long a lease lasts without renewal. */
  leaseMs?: number;
  /** How often the holder renews it (well under leaseMs). */
  renewMs?: number;
}

export class LockHeldError extends IndexBusyError {}

export interface LockHandle {
  /** Extends the lease; false when it was lost (expired and taken over), and renewing stops. */
  renew(): Promise<boolean>;
  /** Gives the lock up (a no-op once lost). */
  release(): Promise<void>;
}

export async function acquireLock(
  client: Client,
  index: string,
  id: string,
  opts: LockOptions = {},
): Promise<LockHandle> {
  const leaseMs = opts.leaseMs ?? 120_000;
  const renewMs = opts.renewMs ?? leaseMs / 4;
  const owner = `${os.hostname()}:${process.pid}`;
  const lease = () => ({ owner, expires_at: Date.now() + leaseMs });

  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // Every renewal and the release are conditional on the version this holder last wrote:
      // a holder whose lease expired and was taken over must not overwrite or delete the new one.
      let version = await client.create({ index, id, document: lease() });
      let held = true;
      const lost = (err: unknown) =>
        err instanceof errors.ResponseError && (err.statusCode === 409 || err.statusCode === 404);
      const handle: LockHandle = {
        async renew() {
          if (!held) return false;
          try {
            version = await client.update({
              index,
              id,
              doc: lease(),
              if_seq_no: version._seq_no!,
              if_primary_term: version._primary_term!,
            });
            return true;
          } catch (err) {
            if (!lost(err)) throw err;
            held = false;
            clearInterval(timer);
            return false;
          }
        },
        async release() {
          clearInterval(timer);
          if (!held) return;
          held = false;
          await client
            .delete({ index, id, if_seq_no: version._seq_no!, if_primary_term: version._primary_term! })
            .catch((err: unknown) => {
              if (!lost(err)) throw err;
            });
        },
      };
      // Any failure other than a lost lease only shortens the lease; the write itself goes on.
      const timer: NodeJS.Timeout = setInterval(() => handle.renew().catch(() => {}), renewMs);
      timer.unref();
      return handle;
    } catch (err) {
      if (!(err instanceof errors.ResponseError && err.statusCode === 409)) throw err;
      const held = await client.get({ index, id }).catch(() => undefined);
      const parsed = LeaseSchema.safeParse(held?._source);
      if (held && parsed.success && parsed.data.expires_at > Date.now()) {
        throw new LockHeldError(
          `another indexer (${parsed.data.owner}) is writing ${index}/${id} until ${new Date(parsed.data.expires_at).toISOString()} unless it renews; wait for it`,
        );
      }
      // Expired (or unreadable): take it over, unless someone else just did.
      if (held) {
        await client
          .delete({ index, id, if_seq_no: held._seq_no!, if_primary_term: held._primary_term! })
          .catch((e: unknown) => {
            if (!(e instanceof errors.ResponseError && (e.statusCode === 409 || e.statusCode === 404))) throw e;
          });
      }
    }
  }
  throw new LockHeldError(`could not take the lock ${index}/${id}`);
}
