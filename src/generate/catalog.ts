/**
 * The merchant catalog: every merchant of the world (online shops, shops in each Korean city scaled
 * to the customers living there, travel merchants abroad, airport shops) as columns, plus the pools
 * the simulator draws from (by category, city, district and cuisine).
 *
 * Deterministic: built from its own PRNG stream (seed, catalog) and the customer count only.
 */
import {
  ATTRACTIONS,
  type Brand,
  CAT,
  CATEGORIES,
  type CategorySpec,
  CUISINE_SHARE,
  CUISINES,
  RESTAURANT_NAMES,
  RESTAURANT_NOUNS_ABROAD,
} from './categories.js';
import { AIRPORTS, CITIES, type City, cityIndex, currencyIndex, offsetDegrees } from './geography.js';
import { mccIndex } from './mcc-codes.js';
import { Rng, Stream } from './prng.js';

/** Korean cities with a subway or metro line (others get buses only). */
const SUBWAY_CITIES = new Set(['Seoul', 'Busan', 'Incheon', 'Daegu', 'Daejeon', 'Gwangju']);

/** Categories whose merchants are placed by dedicated code below rather than by density. */
const SPECIAL = new Set([
  'restaurant',
  'transit',
  'tolls',
  'intercity_rail',
  'attractions',
  'airport',
  'duty_free',
]);

export interface AirportShops {
  /** Airport services (MCC 4582). */
  readonly services: number;
  /** Duty-free shops (MCC 5309). */
  readonly dutyFree: readonly number[];
}

export interface OnlinePool {
  readonly ids: Int32Array;
  readonly cumulative: Float64Array;
}

const EMPTY = new Int32Array(0);

export class Catalog {
  readonly name: string[] = [];
  private readonly mccList: number[] = [];
  private readonly categoryList: number[] = [];
  private readonly cuisineList: number[] = [];
  private readonly cityList: number[] = [];
  private readonly districtList: number[] = [];
  private readonly latList: number[] = [];
  private readonly lonList: number[] = [];
  private readonly onlineList: number[] = [];
  private readonly currencyList: number[] = [];
  private readonly priceList: number[] = [];

  /** Columns (filled by `freeze`). */
  mcc = new Uint16Array(0);
  category = new Uint8Array(0);
  cuisine = new Int8Array(0);
  city = new Uint8Array(0);
  district = new Uint8Array(0);
  lat = new Float64Array(0);
  lon = new Float64Array(0);
  online = new Uint8Array(0);
  currency = new Uint8Array(0);
  /** Fixed monthly price of subscriptions (0 otherwise). */
  price = new Float64Array(0);

  /** Pools by poolSlot(...): a dense array, as this lookup is on the hot path of every purchase. */
  private readonly pools: Int32Array[] = new Array<Int32Array>(POOL_SLOTS).fill(EMPTY);
  private readonly onlinePools: OnlinePool[] = [];
  readonly airports: AirportShops[] = [];
  private readonly nameCount = new Map<string, number>();

  get count(): number {
    return this.name.length;
  }

  /** Offline merchants of a category in a city (district -1: anywhere in the city; cuisine -1: any). */
  pool(cat: number, city: number, district = -1, cuisine = -1): Int32Array {
    return this.pools[poolSlot(cat, city, district, cuisine)] as Int32Array;
  }

  onlinePool(cat: number): OnlinePool {
    return this.onlinePools[cat] ?? { ids: EMPTY, cumulative: new Float64Array(0) };
  }

  private readonly idByName = new Map<string, number>();

  /** The merchant with this exact name (online brands, airlines and utilities are picked by name). */
  byName(name: string): number {
    const i = this.idByName.get(name);
    if (i === undefined) throw new Error(`no merchant named ${name}`);
    return i;
  }

  add(m: {
    name: string;
    mcc: string;
    cat: number;
    cuisine?: number;
    city: number;
    district: number;
    lat: number;
    lon: number;
    online?: boolean;
    currency?: string;
    price?: number;
  }): number {
    const id = this.name.length;
    const name = this.uniqueName(m.name);
    this.name.push(name);
    this.idByName.set(name, id);
    this.mccList.push(mccIndex(m.mcc));
    this.categoryList.push(m.cat);
    this.cuisineList.push(m.cuisine ?? -1);
    this.cityList.push(m.city);
    this.districtList.push(m.district);
    this.latList.push(Math.round(m.lat * 1e6) / 1e6);
    this.lonList.push(Math.round(m.lon * 1e6) / 1e6);
    this.onlineList.push(m.online ? 1 : 0);
    this.currencyList.push(currencyIndex(m.currency ?? (CITIES[m.city] as City).currency));
    this.priceList.push(m.price ?? 0);
    return id;
  }

  /** Chains have many branches in one district: number the repeats ("CU Gangnam 2"). */
  private uniqueName(name: string): string {
    const n = (this.nameCount.get(name) ?? 0) + 1;
    this.nameCount.set(name, n);
    return n === 1 ? name : `${name} ${n}`;
  }

  freeze(): void {
    this.mcc = Uint16Array.from(this.mccList);
    this.category = Uint8Array.from(this.categoryList);
    this.cuisine = Int8Array.from(this.cuisineList);
    this.city = Uint8Array.from(this.cityList);
    this.district = Uint8Array.from(this.districtList);
    this.lat = Float64Array.from(this.latList);
    this.lon = Float64Array.from(this.lonList);
    this.online = Uint8Array.from(this.onlineList);
    this.currency = Uint8Array.from(this.currencyList);
    this.price = Float64Array.from(this.priceList);
    const lists = new Map<number, number[]>();
    const push = (key: number, id: number) => {
      let l = lists.get(key);
      if (!l) {
        l = [];
        lists.set(key, l);
      }
      l.push(id);
    };
    for (let id = 0; id < this.count; id++) {
      if (this.onlineList[id]) continue;
      const cat = this.categoryList[id] as number;
      const city = this.cityList[id] as number;
      const district = this.districtList[id] as number;
      const cuisine = this.cuisineList[id] as number;
      if (cat === CAT.airport || (cat === CAT.duty_free && !this.onlineList[id])) continue;
      push(poolSlot(cat, city, -1, -1), id);
      push(poolSlot(cat, city, district, -1), id);
      if (cuisine >= 0) {
        push(poolSlot(cat, city, -1, cuisine), id);
        push(poolSlot(cat, city, district, cuisine), id);
      }
    }
    for (const [k, l] of lists) this.pools[k] = Int32Array.from(l);
  }

  setOnlinePool(cat: number, ids: number[], weights: number[]): void {
    let s = 0;
    this.onlinePools[cat] = {
      ids: Int32Array.from(ids),
      cumulative: Float64Array.from(weights.map((w) => (s += w))),
    };
  }
}

const MAX_DISTRICTS = Math.max(...CITIES.map((c) => c.districts.length));
const POOL_SLOTS = CATEGORIES.length * (CUISINES.length + 1) * CITIES.length * (MAX_DISTRICTS + 1);

function poolSlot(cat: number, city: number, district: number, cuisine: number): number {
  return (
    ((cat * (CUISINES.length + 1) + (cuisine + 1)) * CITIES.length + city) * (MAX_DISTRICTS + 1) +
    (district + 1)
  );
}

/** A point scattered around (lat, lon) with the given standard deviation in km. */
function scatter(rng: Rng, lat: number, lon: number, km: number): [number, number] {
  const [dLat, dLon] = offsetDegrees(lat, rng.normal() * km, rng.normal() * km);
  return [lat + dLat, lon + dLon];
}

function placeName(city: City, district: number): string {
  const dn = city.districts[district]?.name ?? 'Centre';
  return dn === 'Centre' ? city.name : dn;
}

function pickDistrict(rng: Rng, city: City): number {
  return rng.pickWeighted(city.districts.map((d) => d.weight));
}

/** A name and MCC for an independent (non-chain) merchant of a category. */
function independent(rng: Rng, spec: CategorySpec, place: string): { name: string; mcc: string } {
  const prefix = spec.prefixes ? rng.pick(spec.prefixes) : place;
  const suffix = spec.suffixes ? rng.pick(spec.suffixes) : spec.key;
  const s: Brand = typeof suffix === 'string' ? { name: suffix } : suffix;
  return { name: `${prefix} ${s.name} ${place}`, mcc: s.mcc ?? rng.pick(spec.mccs) };
}

function chainOrIndependent(rng: Rng, spec: CategorySpec, place: string): { name: string; mcc: string } {
  const useBrand =
    spec.brands && spec.brands.length > 0 && (!spec.prefixes || rng.chance(spec.brandShare ?? 1));
  if (useBrand && spec.brands) {
    const brand = rng.pick(spec.brands);
    return { name: `${brand.name} ${place}`, mcc: brand.mcc ?? (spec.mccs[0] as string) };
  }
  return independent(rng, spec, place);
}

export function buildCatalog(seed: number, customers: number): Catalog {
  const rng = Rng.derive(seed, Stream.catalog, 0);
  const cat = new Catalog();

  // 1. Online merchants: one each, located at their head office.
  CATEGORIES.forEach((spec, c) => {
    if (!spec.online) return;
    const ids: number[] = [];
    for (const o of spec.online) {
      const ci = cityIndex(o.city);
      const city = CITIES[ci] as City;
      const di = o.district === undefined ? 0 : city.districts.findIndex((x) => x.name === o.district);
      if (di < 0) throw new Error(`online merchant ${o.name}: no district ${o.district} in ${o.city}`);
      const dd = city.districts[di] ?? { lat: city.lat, lon: city.lon };
      const [lat, lon] = scatter(rng, dd.lat, dd.lon, 0.3);
      ids.push(
        cat.add({
          name: o.name,
          mcc: o.mcc,
          cat: c,
          city: ci,
          district: di,
          lat,
          lon,
          online: true,
          ...(o.currency !== undefined ? { currency: o.currency } : { currency: 'KRW' }),
          ...(o.price !== undefined ? { price: o.price } : {}),
        }),
      );
    }
    cat.setOnlinePool(
      c,
      ids,
      spec.online.map((o) => o.weight),
    );
  });

  // 2. Korean cities: shops in proportion to the customers living there.
  const homeCities = CITIES.map((c, i) => [c, i] as const).filter(([c]) => c.kind === 'home');
  const totalPop = homeCities.reduce((s, [c]) => s + (c.population ?? 0), 0);
  for (const [city, ci] of homeCities) {
    const residents = (customers * (city.population ?? 0)) / totalPop;
    const addShop = (
      c: number,
      name: string,
      mcc: string,
      district: number,
      cuisine = -1,
      km = city.spreadKm,
    ) => {
      const d = city.districts[district] as { lat: number; lon: number };
      const [lat, lon] = scatter(rng, d.lat, d.lon, km);
      return cat.add({ name, mcc, cat: c, cuisine, city: ci, district, lat, lon });
    };
    CATEGORIES.forEach((spec, c) => {
      if (SPECIAL.has(spec.key) || (spec.density === 0 && spec.minPerCity === 0)) return;
      const n = Math.max(spec.minPerCity, Math.round((spec.density * residents) / 1000));
      for (let k = 0; k < n; k++) {
        const district = pickDistrict(rng, city);
        const place = placeName(city, district);
        if (spec.key === 'golf') {
          // Golf courses sit in the hills outside town: 12–35 km from the centre.
          const { name, mcc } = independent(rng, spec, '');
          const angle = rng.float() * 2 * Math.PI;
          const dist = rng.range(12, 35);
          const [dLat, dLon] = offsetDegrees(city.lat, Math.sin(angle) * dist, Math.cos(angle) * dist);
          cat.add({
            name: `${name.trim()} ${city.name}`.replace(/\s+/g, ' '),
            mcc,
            cat: c,
            city: ci,
            district,
            lat: city.lat + dLat,
            lon: city.lon + dLon,
          });
          continue;
        }
        let { name, mcc } = chainOrIndependent(rng, spec, place);
        if (spec.key === 'fuel' && rng.chance(0.35)) {
          name = `${name} Self`;
          mcc = '5542';
        }
        if (spec.key === 'car_rental') name = `${name.replace(` ${place}`, '')} ${city.name}`;
        addShop(c, name, mcc, district);
      }
    });
    // Restaurants: every cuisine in every city, more of the popular ones.
    CUISINES.forEach((cuisine, cu) => {
      const n = Math.max(
        1,
        Math.round((CATEGORIES[CAT.restaurant]!.density * residents * CUISINE_SHARE[cuisine]) / 1000),
      );
      for (let k = 0; k < n; k++) {
        const district = pickDistrict(rng, city);
        addShop(
          CAT.restaurant!,
          `${rng.pick(RESTAURANT_NAMES[cuisine])} ${placeName(city, district)}`,
          '5812',
          district,
          cu,
        );
      }
    });
    // Public transport, train stations and tollgates: a few per city, at the centre.
    if (SUBWAY_CITIES.has(city.name)) addShop(CAT.transit!, `${city.name} Metro`, '4111', 0, -1, 2);
    addShop(CAT.transit!, `${city.name} City Bus`, '4131', 0, -1, 2);
    addShop(CAT.intercity_rail!, `Korail ${city.name} Station`, '4112', 0, -1, 1);
    addShop(CAT.tolls!, `Korea Expressway ${city.name} Tollgate`, '4784', 0, -1, 6);
    for (const a of ATTRACTIONS[city.name] ?? [])
      addShop(CAT.attractions!, a.name, a.mcc ?? '7991', pickDistrict(rng, city), -1, 3);
  }

  // 3. Travel destinations abroad: what tourists buy there.
  for (let ci = 0; ci < CITIES.length; ci++) {
    const city = CITIES[ci] as City;
    if (city.kind !== 'destination') continue;
    const addShop = (c: number, name: string, mcc: string, cuisine = -1) => {
      const district = pickDistrict(rng, city);
      const d = city.districts[district] as { lat: number; lon: number };
      const [lat, lon] = scatter(rng, d.lat, d.lon, city.spreadKm);
      const place = placeName(city, district);
      return cat.add({ name: `${name} ${place}`, mcc, cat: c, cuisine, city: ci, district, lat, lon });
    };
    CATEGORIES.forEach((spec, c) => {
      if (spec.abroad === 0 || spec.key === 'restaurant') return;
      const brands = spec.abroadBrands?.[city.country] ?? spec.abroadBrands?.['*'];
      for (let k = 0; k < spec.abroad; k++) {
        const brand = brands ? rng.pick(brands) : { name: spec.key };
        addShop(c, brand.name, brand.mcc ?? (spec.mccs[0] as string));
      }
    });
    const cuisines = Object.entries(city.cuisines ?? { korean: 1 });
    const total = cuisines.reduce((s, [, w]) => s + w, 0);
    for (const [cuisine, w] of cuisines) {
      const cu = CUISINES.indexOf(cuisine as (typeof CUISINES)[number]);
      const n = Math.max(1, Math.round((CATEGORIES[CAT.restaurant]!.abroad * w) / total));
      for (let k = 0; k < n; k++) {
        addShop(
          CAT.restaurant!,
          rng.pick(RESTAURANT_NOUNS_ABROAD[cuisine as (typeof CUISINES)[number]]),
          '5812',
          cu,
        );
      }
    }
    for (const a of ATTRACTIONS[city.name] ?? []) {
      const [lat, lon] = scatter(rng, city.lat, city.lon, 3);
      cat.add({ name: a.name, mcc: a.mcc ?? '7991', cat: CAT.attractions!, city: ci, district: 0, lat, lon });
    }
  }

  // 4. Airports: services and duty-free shops at the real terminal coordinates.
  for (const a of AIRPORTS) {
    const ci = cityIndex(a.city);
    const korean = (CITIES[ci] as City).country === 'KR';
    const at = () => scatter(rng, a.lat, a.lon, 0.15);
    const [sLat, sLon] = at();
    const services = cat.add({
      name: a.name,
      mcc: '4582',
      cat: CAT.airport!,
      city: ci,
      district: 0,
      lat: sLat,
      lon: sLon,
    });
    const shops = korean
      ? [`Shilla Duty Free ${a.code}`, `Lotte Duty Free ${a.code}`]
      : [`${a.code} Duty Free`];
    const dutyFree = shops.map((name) => {
      const [lat, lon] = at();
      return cat.add({ name, mcc: '5309', cat: CAT.duty_free!, city: ci, district: 0, lat, lon });
    });
    cat.airports.push({ services, dutyFree });
  }

  cat.freeze();
  return cat;
}
