/**
 * Places of the world: Korean home cities (weighted by population, with real district centres),
 * travel destinations abroad, the head-office cities of online merchants, real airports, and the
 * currencies paid there. Pure data plus a few lookups; coordinates are real (WGS84, ~100 m).
 */
import { ZONES, type Zone } from './timezones.js';

export interface Currency {
  readonly code: string;
  /** Approximate 2025 rate: KRW per unit. */
  readonly krw: number;
  /** Decimals of the original amount (0 for KRW, JPY, VND...). */
  readonly decimals: number;
  /** Prices are rounded to a multiple of this (in units): 10 yen, 1000 dong. */
  readonly step: number;
}

export const CURRENCIES: readonly Currency[] = [
  { code: 'KRW', krw: 1, decimals: 0, step: 10 },
  { code: 'JPY', krw: 9.4, decimals: 0, step: 10 },
  { code: 'USD', krw: 1420, decimals: 2, step: 0.01 },
  { code: 'EUR', krw: 1560, decimals: 2, step: 0.01 },
  { code: 'GBP', krw: 1850, decimals: 2, step: 0.01 },
  { code: 'THB', krw: 42, decimals: 0, step: 1 },
  { code: 'VND', krw: 0.056, decimals: 0, step: 1000 },
  { code: 'PHP', krw: 24.5, decimals: 0, step: 1 },
  { code: 'TWD', krw: 44, decimals: 0, step: 1 },
  { code: 'HKD', krw: 182, decimals: 2, step: 0.1 },
  { code: 'SGD', krw: 1070, decimals: 2, step: 0.01 },
  { code: 'AUD', krw: 920, decimals: 2, step: 0.01 },
  { code: 'IDR', krw: 0.087, decimals: 0, step: 1000 },
  { code: 'CNY', krw: 196, decimals: 2, step: 0.1 },
];

export function currencyIndex(code: string): number {
  const i = CURRENCIES.findIndex((c) => c.code === code);
  if (i < 0) throw new Error(`unknown currency ${code}`);
  return i;
}

export interface District {
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
  readonly weight: number;
}

export type CityKind = 'home' | 'destination' | 'hq';

export interface City {
  readonly name: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly kind: CityKind;
  readonly zone: Zone;
  readonly currency: string;
  readonly lat: number;
  readonly lon: number;
  /** Residents in thousands (home cities): customers are spread in proportion. */
  readonly population?: number;
  readonly districts: readonly District[];
  /** Merchant scatter around a district centre, km (standard deviation). */
  readonly spreadKm: number;
  /** Restaurant cuisines abroad, as weights (home cities use the national mix). */
  readonly cuisines?: Readonly<Record<string, number>>;
  /** Travel destinations: relative popularity with Korean travellers. */
  readonly popularity?: number;
  /** Long-haul: longer trips, pricier flights, departures from Incheon only. */
  readonly longHaul?: boolean;
  /** Airports serving the city (codes in AIRPORTS). */
  readonly airports: readonly string[];
}

const d = (name: string, lat: number, lon: number, weight = 1): District => ({ name, lat, lon, weight });

const KR = { country: 'KR', kind: 'home', zone: ZONES.seoul, currency: 'KRW' } as const;

/** Home cities: where customers live (population in thousands, 2024). Also domestic trip destinations. */
const HOME_CITIES: City[] = [
  {
    ...KR,
    name: 'Seoul',
    lat: 37.5665,
    lon: 126.978,
    population: 9386,
    spreadKm: 0.9,
    airports: ['GMP', 'ICN'],
    districts: [
      d('Gangnam', 37.4979, 127.0276, 3),
      d('Seocho', 37.4837, 127.0324, 2),
      d('Jamsil', 37.5133, 127.1001, 2.5),
      d('Jongno', 37.5704, 126.992, 1.5),
      d('Myeongdong', 37.5636, 126.9827, 1.5),
      d('Hongdae', 37.5563, 126.9236, 2),
      d('Yeouido', 37.5219, 126.9245, 2),
      d('Sillim', 37.4812, 126.9527, 1.5),
      d('Nowon', 37.6542, 127.0568, 2),
      d('Seongsu', 37.5446, 127.0557, 1),
      d('Itaewon', 37.5345, 126.9946, 1),
      d('Magok', 37.5602, 126.8255, 2),
    ],
  },
  {
    ...KR,
    name: 'Busan',
    lat: 35.1796,
    lon: 129.0756,
    population: 3293,
    spreadKm: 1.1,
    airports: ['PUS'],
    popularity: 20,
    districts: [
      d('Haeundae', 35.1631, 129.1636, 2),
      d('Seomyeon', 35.1577, 129.0594, 2),
      d('Nampo', 35.0979, 129.0305, 1.5),
      d('Dongnae', 35.205, 129.0784, 1.5),
      d('Gwangalli', 35.1532, 129.1187, 1),
      d('Sasang', 35.1526, 128.991, 1),
    ],
  },
  {
    ...KR,
    name: 'Incheon',
    lat: 37.4563,
    lon: 126.7052,
    population: 3000,
    spreadKm: 1.2,
    airports: ['ICN', 'GMP'],
    districts: [
      d('Songdo', 37.3894, 126.6436, 2),
      d('Bupyeong', 37.4895, 126.7245, 2),
      d('Guwol', 37.4502, 126.7025, 1.5),
      d('Cheongna', 37.534, 126.6505, 1),
      d('Juan', 37.4646, 126.6804, 1),
    ],
  },
  {
    ...KR,
    name: 'Daegu',
    lat: 35.8714,
    lon: 128.6014,
    population: 2375,
    spreadKm: 1.2,
    airports: ['TAE'],
    districts: [
      d('Dongseongno', 35.8694, 128.5959, 1.5),
      d('Suseong', 35.8582, 128.6306, 1.5),
      d('Dalseo', 35.8298, 128.5326, 1.5),
      d('Chilgok', 35.8857, 128.5828, 1),
    ],
  },
  {
    ...KR,
    name: 'Daejeon',
    lat: 36.3504,
    lon: 127.3845,
    population: 1442,
    spreadKm: 1.2,
    airports: ['CJJ'],
    districts: [
      d('Dunsan', 36.3515, 127.3787, 1.5),
      d('Yuseong', 36.3624, 127.3562, 1.5),
      d('Eunhaeng', 36.3281, 127.4275, 1),
    ],
  },
  {
    ...KR,
    name: 'Gwangju',
    lat: 35.1595,
    lon: 126.8526,
    population: 1419,
    spreadKm: 1.2,
    airports: ['KWJ'],
    districts: [
      d('Sangmu', 35.1526, 126.8468, 1.5),
      d('Chungjangno', 35.1473, 126.9177, 1),
      d('Suwan', 35.1919, 126.8233, 1),
    ],
  },
  {
    ...KR,
    name: 'Suwon',
    lat: 37.2636,
    lon: 127.0286,
    population: 1193,
    spreadKm: 1.0,
    airports: ['GMP', 'ICN'],
    districts: [
      d('Ingye', 37.2626, 127.0313, 1.5),
      d('Gwanggyo', 37.2856, 127.0464, 1),
      d('Suwon Station', 37.266, 127.0, 1),
    ],
  },
  {
    ...KR,
    name: 'Yongin',
    lat: 37.2411,
    lon: 127.1776,
    population: 1075,
    spreadKm: 1.5,
    airports: ['GMP', 'ICN'],
    districts: [d('Suji', 37.3224, 127.0983, 1.5), d('Giheung', 37.275, 127.1159, 1)],
  },
  {
    ...KR,
    name: 'Goyang',
    lat: 37.6584,
    lon: 126.832,
    population: 1072,
    spreadKm: 1.2,
    airports: ['GMP', 'ICN'],
    districts: [d('Ilsan', 37.6585, 126.77, 1.5), d('Hwajeong', 37.6341, 126.8327, 1)],
  },
  {
    ...KR,
    name: 'Ulsan',
    lat: 35.5384,
    lon: 129.3114,
    population: 1103,
    spreadKm: 1.3,
    airports: ['USN', 'PUS'],
    districts: [d('Samsan', 35.5389, 129.3367, 1.5), d('Seongnam-dong', 35.5547, 129.3198, 1)],
  },
  {
    ...KR,
    name: 'Changwon',
    lat: 35.228,
    lon: 128.6811,
    population: 1008,
    spreadKm: 1.3,
    airports: ['PUS'],
    districts: [d('Sangnam', 35.2222, 128.6819, 1.5), d('Masan', 35.1983, 128.5703, 1)],
  },
  {
    ...KR,
    name: 'Seongnam',
    lat: 37.42,
    lon: 127.1267,
    population: 918,
    spreadKm: 1.0,
    airports: ['GMP', 'ICN'],
    districts: [d('Pangyo', 37.3948, 127.1112, 1), d('Bundang', 37.385, 127.1236, 1.5)],
  },
  {
    ...KR,
    name: 'Cheongju',
    lat: 36.6424,
    lon: 127.489,
    population: 850,
    spreadKm: 1.3,
    airports: ['CJJ'],
    districts: [d('Seongan', 36.6359, 127.489, 1.5), d('Osong', 36.6293, 127.3301, 0.5)],
  },
  {
    ...KR,
    name: 'Cheonan',
    lat: 36.8151,
    lon: 127.1139,
    population: 658,
    spreadKm: 1.3,
    airports: ['CJJ'],
    districts: [d('Buldang', 36.8109, 127.1062, 1), d('Dujeong', 36.8339, 127.1491, 1)],
  },
  {
    ...KR,
    name: 'Jeonju',
    lat: 35.8242,
    lon: 127.148,
    population: 642,
    spreadKm: 1.2,
    airports: ['KWJ'],
    popularity: 6,
    districts: [d('Gaeksa', 35.8182, 127.1446, 1.5), d('Hanok Village', 35.815, 127.153, 1)],
  },
  {
    ...KR,
    name: 'Jeju',
    lat: 33.4996,
    lon: 126.5312,
    population: 490,
    spreadKm: 1.5,
    airports: ['CJU'],
    popularity: 45,
    districts: [
      d('Nohyeong', 33.4846, 126.482, 1.5),
      d('Jeju Old Town', 33.5126, 126.5275, 1),
      d('Seogwipo', 33.2497, 126.5641, 1),
      d('Aewol', 33.4636, 126.3093, 0.5),
    ],
  },
  {
    ...KR,
    name: 'Gyeongju',
    lat: 35.8562,
    lon: 129.2247,
    population: 246,
    spreadKm: 1.2,
    airports: ['PUS'],
    popularity: 10,
    districts: [d('Hwangnidan-gil', 35.8376, 129.2107, 1), d('Bomun', 35.8428, 129.2856, 1)],
  },
  {
    ...KR,
    name: 'Gangneung',
    lat: 37.7519,
    lon: 128.8761,
    population: 209,
    spreadKm: 1.2,
    airports: ['GMP'],
    popularity: 12,
    districts: [d('Gyo-dong', 37.764, 128.8996, 1), d('Gyeongpo', 37.7953, 128.9084, 1)],
  },
];

const dest = (
  name: string,
  country: string,
  zone: Zone,
  currency: string,
  lat: number,
  lon: number,
  airports: string[],
  popularity: number,
  cuisines: Record<string, number>,
  districts: District[] = [],
  longHaul = false,
): City => ({
  name,
  country,
  kind: 'destination',
  zone,
  currency,
  lat,
  lon,
  airports,
  popularity,
  cuisines,
  longHaul,
  spreadKm: 1.8,
  districts: districts.length > 0 ? districts : [d('Centre', lat, lon, 1)],
});

const JAPANESE = { japanese: 0.78, korean: 0.05, italian: 0.05, american: 0.05, chinese: 0.07 };
const CHINESE = { chinese: 0.78, japanese: 0.08, korean: 0.07, american: 0.07 };
const VIET = { vietnamese: 0.72, seafood: 0.12, korean: 0.08, american: 0.08 };

/** Travel destinations abroad, with real centres and the airports Korean travellers fly into. */
const DESTINATIONS: City[] = [
  dest('Osaka', 'JP', ZONES.tokyo, 'JPY', 34.6937, 135.5023, ['KIX'], 14, JAPANESE, [
    d('Namba', 34.6661, 135.5003, 1.5),
    d('Umeda', 34.7025, 135.4959, 1),
  ]),
  dest('Tokyo', 'JP', ZONES.tokyo, 'JPY', 35.6762, 139.6503, ['NRT', 'HND'], 12, JAPANESE, [
    d('Shinjuku', 35.6909, 139.7003, 1),
    d('Ginza', 35.6717, 139.765, 1),
    d('Shibuya', 35.6595, 139.7005, 1),
  ]),
  dest('Fukuoka', 'JP', ZONES.tokyo, 'JPY', 33.5902, 130.4017, ['FUK'], 10, JAPANESE, [
    d('Tenjin', 33.5914, 130.3989, 1),
    d('Hakata', 33.5897, 130.4207, 1),
  ]),
  dest('Sapporo', 'JP', ZONES.tokyo, 'JPY', 43.0618, 141.3545, ['CTS'], 3, { ...JAPANESE, seafood: 0.2 }),
  dest('Naha', 'JP', ZONES.tokyo, 'JPY', 26.2124, 127.6792, ['OKA'], 3, { ...JAPANESE, seafood: 0.15 }),
  dest('Bangkok', 'TH', ZONES.bangkok, 'THB', 13.7563, 100.5018, ['BKK'], 7, {
    thai: 0.75,
    seafood: 0.08,
    japanese: 0.05,
    korean: 0.05,
    american: 0.07,
  }),
  dest('Da Nang', 'VN', ZONES.hoChiMinh, 'VND', 16.0544, 108.2022, ['DAD'], 8, VIET),
  dest('Nha Trang', 'VN', ZONES.hoChiMinh, 'VND', 12.2388, 109.1967, ['CXR'], 3, VIET),
  dest('Hanoi', 'VN', ZONES.hoChiMinh, 'VND', 21.0278, 105.8342, ['HAN'], 3, VIET),
  dest('Cebu', 'PH', ZONES.manila, 'PHP', 10.3157, 123.8854, ['CEB'], 4, {
    seafood: 0.4,
    american: 0.3,
    korean: 0.15,
    chinese: 0.15,
  }),
  dest('Taipei', 'TW', ZONES.taipei, 'TWD', 25.033, 121.5654, ['TPE'], 5, CHINESE),
  dest('Hong Kong', 'HK', ZONES.hongKong, 'HKD', 22.3193, 114.1694, ['HKG'], 3, CHINESE),
  dest('Singapore', 'SG', ZONES.singapore, 'SGD', 1.2903, 103.852, ['SIN'], 3, {
    chinese: 0.4,
    indian: 0.2,
    seafood: 0.2,
    american: 0.1,
    japanese: 0.1,
  }),
  dest('Tumon', 'GU', ZONES.guam, 'USD', 13.514, 144.806, ['GUM'], 3, {
    american: 0.5,
    seafood: 0.3,
    japanese: 0.1,
    korean: 0.1,
  }),
  dest('Shanghai', 'CN', ZONES.shanghai, 'CNY', 31.2304, 121.4737, ['PVG'], 3, CHINESE),
  dest('Denpasar', 'ID', ZONES.makassar, 'IDR', -8.6705, 115.2126, ['DPS'], 2, {
    seafood: 0.4,
    vegan: 0.2,
    american: 0.2,
    italian: 0.2,
  }),
  dest(
    'Paris',
    'FR',
    ZONES.paris,
    'EUR',
    48.8566,
    2.3522,
    ['CDG'],
    3,
    { french: 0.7, italian: 0.12, japanese: 0.05, korean: 0.05, vegan: 0.08 },
    [],
    true,
  ),
  dest(
    'Rome',
    'IT',
    ZONES.rome,
    'EUR',
    41.9028,
    12.4964,
    ['FCO'],
    2,
    { italian: 0.88, seafood: 0.12 },
    [],
    true,
  ),
  dest(
    'London',
    'GB',
    ZONES.london,
    'GBP',
    51.5074,
    -0.1278,
    ['LHR'],
    2,
    { american: 0.3, indian: 0.3, italian: 0.2, seafood: 0.2 },
    [],
    true,
  ),
  dest(
    'New York',
    'US',
    ZONES.newYork,
    'USD',
    40.7128,
    -74.006,
    ['JFK'],
    2,
    { american: 0.5, mexican: 0.15, italian: 0.15, korean: 0.05, chinese: 0.15 },
    [],
    true,
  ),
  dest(
    'Los Angeles',
    'US',
    ZONES.losAngeles,
    'USD',
    34.0522,
    -118.2437,
    ['LAX'],
    2,
    { american: 0.4, mexican: 0.3, korean: 0.1, japanese: 0.1, vegan: 0.1 },
    [],
    true,
  ),
  dest(
    'Sydney',
    'AU',
    ZONES.sydney,
    'AUD',
    -33.8688,
    151.2093,
    ['SYD'],
    2,
    { seafood: 0.3, american: 0.2, italian: 0.2, vegan: 0.1, thai: 0.1, vietnamese: 0.1 },
    [],
    true,
  ),
];

const hq = (name: string, country: string, zone: Zone, currency: string, lat: number, lon: number): City => ({
  name,
  country,
  kind: 'hq',
  zone,
  currency,
  lat,
  lon,
  airports: [],
  spreadKm: 0.3,
  districts: [d('Centre', lat, lon, 1)],
});

/** Where foreign online merchants are based (their transactions carry this city, country and zone). */
const HQ_CITIES: City[] = [
  hq('Seattle', 'US', ZONES.losAngeles, 'USD', 47.6062, -122.3321),
  hq('Irvine', 'US', ZONES.losAngeles, 'USD', 33.6846, -117.8265),
  hq('Hangzhou', 'CN', ZONES.shanghai, 'USD', 30.2741, 120.1551),
  hq('Amsterdam', 'NL', ZONES.amsterdam, 'EUR', 52.3676, 4.9041),
  hq('Dublin', 'IE', ZONES.dublin, 'EUR', 53.3498, -6.2603),
];

export const CITIES: readonly City[] = [...HOME_CITIES, ...DESTINATIONS, ...HQ_CITIES];

export function cityIndex(name: string): number {
  const i = CITIES.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`unknown city ${name}`);
  return i;
}

/** Indexes of the Korean home cities, in CITIES order. */
export const HOME_CITY_INDEXES: readonly number[] = CITIES.flatMap((c, i) => (c.kind === 'home' ? [i] : []));
export const DESTINATION_INDEXES: readonly number[] = CITIES.flatMap((c, i) =>
  c.kind === 'destination' ? [i] : [],
);
/** Korean cities that are also domestic trip destinations (with their popularity). */
export const DOMESTIC_DESTINATION_INDEXES: readonly number[] = CITIES.flatMap((c, i) =>
  c.kind === 'home' && c.popularity !== undefined ? [i] : [],
);

export interface Airport {
  readonly code: string;
  readonly name: string;
  /** The city it serves (in CITIES). */
  readonly city: string;
  readonly lat: number;
  readonly lon: number;
}

/** Real airports (IATA code, coordinates of the terminal area). */
export const AIRPORTS: readonly Airport[] = [
  { code: 'ICN', name: 'Incheon International Airport', city: 'Incheon', lat: 37.4602, lon: 126.4407 },
  { code: 'GMP', name: 'Gimpo International Airport', city: 'Seoul', lat: 37.5587, lon: 126.7945 },
  { code: 'PUS', name: 'Gimhae International Airport', city: 'Busan', lat: 35.1795, lon: 128.9382 },
  { code: 'CJU', name: 'Jeju International Airport', city: 'Jeju', lat: 33.5104, lon: 126.4914 },
  { code: 'TAE', name: 'Daegu International Airport', city: 'Daegu', lat: 35.8941, lon: 128.6586 },
  { code: 'CJJ', name: 'Cheongju International Airport', city: 'Cheongju', lat: 36.7166, lon: 127.4991 },
  { code: 'KWJ', name: 'Gwangju Airport', city: 'Gwangju', lat: 35.1264, lon: 126.8089 },
  { code: 'USN', name: 'Ulsan Airport', city: 'Ulsan', lat: 35.5935, lon: 129.352 },
  { code: 'NRT', name: 'Narita International Airport', city: 'Tokyo', lat: 35.772, lon: 140.3929 },
  { code: 'HND', name: 'Haneda Airport', city: 'Tokyo', lat: 35.5494, lon: 139.7798 },
  { code: 'KIX', name: 'Kansai International Airport', city: 'Osaka', lat: 34.4347, lon: 135.244 },
  { code: 'FUK', name: 'Fukuoka Airport', city: 'Fukuoka', lat: 33.5859, lon: 130.451 },
  { code: 'CTS', name: 'New Chitose Airport', city: 'Sapporo', lat: 42.7752, lon: 141.6923 },
  { code: 'OKA', name: 'Naha Airport', city: 'Naha', lat: 26.1958, lon: 127.6459 },
  { code: 'BKK', name: 'Suvarnabhumi Airport', city: 'Bangkok', lat: 13.69, lon: 100.7501 },
  { code: 'DAD', name: 'Da Nang International Airport', city: 'Da Nang', lat: 16.0439, lon: 108.1993 },
  { code: 'CXR', name: 'Cam Ranh International Airport', city: 'Nha Trang', lat: 11.9982, lon: 109.2194 },
  { code: 'HAN', name: 'Noi Bai International Airport', city: 'Hanoi', lat: 21.2187, lon: 105.8042 },
  { code: 'CEB', name: 'Mactan-Cebu International Airport', city: 'Cebu', lat: 10.3075, lon: 123.979 },
  { code: 'TPE', name: 'Taoyuan International Airport', city: 'Taipei', lat: 25.0797, lon: 121.2342 },
  { code: 'HKG', name: 'Hong Kong International Airport', city: 'Hong Kong', lat: 22.308, lon: 113.9185 },
  { code: 'SIN', name: 'Singapore Changi Airport', city: 'Singapore', lat: 1.3644, lon: 103.9915 },
  {
    code: 'GUM',
    name: 'Antonio B. Won Pat International Airport',
    city: 'Tumon',
    lat: 13.4834,
    lon: 144.796,
  },
  {
    code: 'PVG',
    name: 'Shanghai Pudong International Airport',
    city: 'Shanghai',
    lat: 31.1443,
    lon: 121.8083,
  },
  { code: 'DPS', name: 'Ngurah Rai International Airport', city: 'Denpasar', lat: -8.7482, lon: 115.1672 },
  { code: 'CDG', name: 'Paris Charles de Gaulle Airport', city: 'Paris', lat: 49.0097, lon: 2.5479 },
  { code: 'FCO', name: 'Rome Fiumicino Airport', city: 'Rome', lat: 41.8003, lon: 12.2389 },
  { code: 'LHR', name: 'London Heathrow Airport', city: 'London', lat: 51.47, lon: -0.4543 },
  {
    code: 'JFK',
    name: 'John F. Kennedy International Airport',
    city: 'New York',
    lat: 40.6413,
    lon: -73.7781,
  },
  {
    code: 'LAX',
    name: 'Los Angeles International Airport',
    city: 'Los Angeles',
    lat: 33.9416,
    lon: -118.4085,
  },
  { code: 'SYD', name: 'Sydney Kingsford Smith Airport', city: 'Sydney', lat: -33.9399, lon: 151.1753 },
];

export function airportIndex(code: string): number {
  const i = AIRPORTS.findIndex((a) => a.code === code);
  if (i < 0) throw new Error(`unknown airport ${code}`);
  return i;
}

const BUSAN_REGION = new Set(['Busan', 'Ulsan', 'Changwon', 'Gyeongju']);

/** The airport a resident of `homeCity` departs from. */
export function departureAirport(homeCity: City, destination: City): string {
  if (destination.country === 'KR') {
    if (homeCity.name === 'Jeju') return 'CJU';
    // Domestic flights leave from the nearest domestic airport (Gimpo for the capital region).
    return homeCity.airports.find((a) => a !== 'ICN') ?? 'GMP';
  }
  if (!destination.longHaul && BUSAN_REGION.has(homeCity.name)) return 'PUS';
  return 'ICN';
}

/** Approximate km per degree, for scattering points around a centre. */
export function offsetDegrees(lat: number, northKm: number, eastKm: number): [number, number] {
  const dLat = northKm / 110.574;
  const dLon = eastKm / (111.32 * Math.cos((lat * Math.PI) / 180));
  return [dLat, dLon];
}
