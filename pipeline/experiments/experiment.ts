import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Surface } from '../../core/candidate.ts';

/**
 * An online experiment: traffic on one surface (or all) split between arms by a stable hash of
 * (experiment, shopper), each arm serving the service's settings with its own overrides of the
 * request-scoped ones. The definition is data (stored, shared by every instance); which settings
 * an override may name is the settings tree's business (src/settings/overrides.ts).
 */

export const EXPERIMENT_SURFACES = ['search', 'feed', 'similar', 'all'] as const;
export type ExperimentSurface = (typeof EXPERIMENT_SURFACES)[number];
export const EXPERIMENT_STATUSES = ['draft', 'running', 'stopped'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

const ID = /^[A-Za-z0-9_.-]{1,128}$/;
const idString = (what: string) => z.string().regex(ID, `${what}: 1–128 of A-Z a-z 0-9 _ . -`);

/** Epoch ms, or an ISO-8601 string turned into one. */
const instant = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .refine((s) => Number.isFinite(Date.parse(s)), 'expected epoch milliseconds or an ISO-8601 time')
    .transform((s) => Date.parse(s)),
]);

export const ArmSchema = z
  .object({
    name: idString('arm name'),
    /** Share of the experiment's traffic, relative to the other arms' weights. */
    weight: z.number().positive().max(1_000_000),
    /** `{ "<request-scoped setting path>": value }`; none: the service's defaults. */
    overrides: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type Arm = z.output<typeof ArmSchema>;

export const ExperimentSchema = z
  .object({
    id: idString('id'),
    description: z.string().max(2000).optional(),
    surface: z.enum(EXPERIMENT_SURFACES),
    status: z.enum(EXPERIMENT_STATUSES).default('draft'),
    arms: z
      .array(ArmSchema)
      .min(2, 'an experiment needs at least two arms')
      .max(20)
      .refine((arms) => new Set(arms.map((a) => a.name)).size === arms.length, 'arm names must be unique'),
    /** Serves from `start` (inclusive) to `end` (exclusive) while running; unset: from now / until stopped. */
    start: instant.optional(),
    end: instant.optional(),
  })
  .strict()
  .refine((e) => e.start === undefined || e.end === undefined || e.start < e.end, {
    message: 'must be after start',
    path: ['end'],
  });
export type ExperimentInput = z.input<typeof ExperimentSchema>;

/** A stored experiment: the definition as posted plus what the service recorded about it. */
export type Experiment = z.output<typeof ExperimentSchema> & {
  created_at: number;
  /** When it was stopped (status `stopped`). */
  stopped_at?: number;
};

/** Where an experiment is in its life right now: its status read against its start and end. */
export type LiveState = 'draft' | 'scheduled' | 'running' | 'ended' | 'stopped';

export function liveState(e: Pick<Experiment, 'status' | 'start' | 'end'>, now: number): LiveState {
  if (e.status !== 'running') return e.status;
  if (e.start !== undefined && now < e.start) return 'scheduled';
  if (e.end !== undefined && now >= e.end) return 'ended';
  return 'running';
}

export const covers = (e: Pick<Experiment, 'surface'>, surface: Surface): boolean =>
  e.surface === 'all' || e.surface === surface;

/** Two experiments that would both claim some surface. */
export const overlap = (a: Pick<Experiment, 'surface'>, b: Pick<Experiment, 'surface'>): boolean =>
  a.surface === 'all' || b.surface === 'all' || a.surface === b.surface;

/** The arm reports compare the others against: the one named `control`, else the first. */
export const controlArm = (e: Pick<Experiment, 'arms'>): Arm => e.arms.find((a) => a.name === 'control') ?? e.arms[0]!;

/**
 * A point in [0, 1) from (experiment, subject): the same shopper always lands on the same point
 * of one experiment, and independent experiments split traffic independently of each other.
 */
export function bucketOf(experimentId: string, subject: string): number {
  const h = createHash('sha256').update(`${experimentId}\u0000${subject}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** The arm `subject` is in: arms take consecutive slices of [0, 1) in proportion to their weights. Pure. */
export function assignArm(e: Pick<Experiment, 'id' | 'arms'>, subject: string): Arm {
  const total = e.arms.reduce((s, a) => s + a.weight, 0);
  const point = bucketOf(e.id, subject) * total;
  let acc = 0;
  for (const arm of e.arms) {
    acc += arm.weight;
    if (point < acc) return arm;
  }
  return e.arms.at(-1)!;
}

/** The experiment serving `surface` at `now` (one at most: overlapping ones are refused when started). */
export function servingOn(experiments: readonly Experiment[], surface: Surface, now: number): Experiment | undefined {
  return experiments.find((e) => covers(e, surface) && liveState(e, now) === 'running');
}

/** What a response and its served-log entry say about the experiment that served it. */
export interface ExperimentTag {
  id: string;
  arm: string;
}
