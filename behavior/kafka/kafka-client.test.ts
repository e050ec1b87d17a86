import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ensureTopic } from './kafka-client.ts';

const kafkaError = (type: string) => Object.assign(new Error(type), { type });

/** An Admin with just what ensureTopic calls. */
function fakeAdmin(o: { existing?: string[]; create?: () => Promise<boolean>; metadataFailures?: number }) {
  const calls = { create: 0, metadata: 0 };
  let failures = o.metadataFailures ?? 0;
  const admin = {
    listTopics: async () => o.existing ?? [],
    createTopics: async () => {
      calls.create++;
      return (o.create ?? (async () => true))();
    },
    fetchTopicMetadata: async () => {
      calls.metadata++;
      if (failures-- > 0) throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION');
      return { topics: [] };
    },
  } as unknown as Admin;
  return { admin, calls };
}

describe('ensureTopic', () => {
  it('leaves an existing topic alone', async () => {
    const { admin, calls } = fakeAdmin({ existing: ['t'] });
    await ensureTopic(admin, 't', 3);
    expect(calls.create).toBe(0);
  });

  it('waits while a busy broker says it does not host the topic it just created', async () => {
    const { admin, calls } = fakeAdmin({
      create: async () => {
        throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION');
      },
      metadataFailures: 3,
    });
    await ensureTopic(admin, 't', 3);
    expect(calls.metadata).toBe(4);
  });

  it('takes a concurrent creator\u2019s "already exists" as success, and rethrows anything else', async () => {
    await ensureTopic(
      fakeAdmin({
        create: async () => {
          throw kafkaError('TOPIC_ALREADY_EXISTS');
        },
      }).admin,
      't',
      1,
    );
    await expect(
      ensureTopic(
        fakeAdmin({
          create: async () => {
            throw kafkaError('TOPIC_AUTHORIZATION_FAILED');
          },
        }).admin,
        't',
        1,
      ),
    ).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
  });
});
