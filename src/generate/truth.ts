/**
 * The planted ground truth as CSV text: who has which persona and preference, which purchase cycles
 * run at which merchant, which life events happened when. Documented in docs/world.md; tests and
 * tag benchmarks compare tags against these files.
 */
import { dayIso } from './calendar.js';
import { CUISINES } from './categories.js';
import type { CustomerOutcome } from './customer-simulator.js';
import { CITIES } from './geography.js';
import { PERSONAS } from './personas.js';
import type { World } from './world.js';

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const line = (fields: readonly (string | number)[]) => `${fields.map(csvField).join(',')}\n`;

export const TRUTH_HEADERS = {
  customers: [
    'customer_id',
    'personas',
    'favourite_cuisine',
    'price_sensitivity',
    'home_city',
    'final_city',
    'employed',
    'car_owner',
    'young_child',
    'trips',
    'foreign_trips',
    'churn_date',
    'decline_from',
  ],
  preferences: ['customer_id', 'preference', 'value', 'strength'],
  cycles: [
    'customer_id',
    'item',
    'category',
    'merchant_id',
    'period_days',
    'jitter_days',
    'active_from',
    'active_to',
  ],
  life_events: ['customer_id', 'event', 'date', 'details'],
} as const;

export const customerId = (index: number) => `C${String(index + 1).padStart(7, '0')}`;
export const merchantId = (index: number) => `M${String(index + 1).padStart(6, '0')}`;

/** The header line of a truth file. */
export function truthHeader(file: keyof typeof TRUTH_HEADERS): string {
  return line(TRUTH_HEADERS[file]);
}

/** Accumulates truth rows (CSV lines without headers) customer by customer, in customer order. */
export class TruthCollector {
  readonly customers: string[] = [];
  readonly preferences: string[] = [];
  readonly cycles: string[] = [];
  readonly lifeEvents: string[] = [];
  readonly counts = { preferences: 0, cycles: 0, lifeEvents: 0, churned: 0 };

  constructor(private readonly world: World) {}

  add(o: CustomerOutcome): void {
    const { cal } = this.world;
    const p = o.plan;
    const id = customerId(p.index);
    const personas = PERSONAS.filter((_, i) => (p.persona[i] as number) > 0);
    const cuisine = p.favouriteCuisine >= 0 ? (CUISINES[p.favouriteCuisine] as string) : '';
    this.customers.push(
      line([
        id,
        personas.join(';'),
        cuisine,
        p.priceSensitivity.toFixed(2),
        CITIES[p.homeCity]!.name,
        CITIES[o.finalCity]!.name,
        String(p.employed),
        String(p.carOwner),
        String(p.youngChild),
        o.trips,
        o.foreignTrips,
        p.churnDay >= 0 ? dayIso(cal, p.churnDay) : '',
        p.declineDay >= 0 ? dayIso(cal, p.declineDay) : '',
      ]),
    );
    if (p.churnDay >= 0) this.counts.churned++;
    PERSONAS.forEach((name, i) => {
      const s = p.persona[i] as number;
      if (s <= 0) return;
      this.preferences.push(line([id, name, name === 'foodie' ? cuisine : '', s.toFixed(2)]));
      this.counts.preferences++;
    });
    for (const c of o.cycles) {
      this.cycles.push(
        line([
          id,
          c.item,
          c.category,
          merchantId(c.merchant),
          c.periodDays,
          c.jitterDays,
          dayIso(cal, c.fromDay),
          dayIso(cal, c.toDay),
        ]),
      );
      this.counts.cycles++;
    }
    p.events.forEach((e, i) => {
      this.lifeEvents.push(line([id, e.kind, dayIso(cal, e.day), o.eventDetails[i] ?? '']));
      this.counts.lifeEvents++;
    });
  }
}
