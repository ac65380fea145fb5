/**
 * The card pack's aggregate and derived tags (packs/card/tags: spending, habits, preferences,
 * conditions, life-events) written by hand as ONE DuckDB query, the way an analyst would, without the
 * Tagverse compiler. The build benchmark runs it side by side with `tagverse build` and checks that
 * both give the same values.
 *
 * Windows are (T - d, T] with exact days, calendar parts in Asia/Seoul, as docs/language.md defines.
 */

const DAY_US = 86_400_000_000;

function instant(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString().slice(0, 23);
  return `TIMESTAMPTZ '${iso}${String(us - ms * 1000).padStart(3, '0')}Z'`;
}

/** Tags the hand-written query computes (every aggregate and derived tag of the pack). */
export const HANDWRITTEN_TAGS = [
  'spend_30d',
  'spend_90d',
  'txn_count_90d',
  'avg_ticket_90d',
  'online_share_90d',
  'foreign_spend_share_365d',
  'top_merchant_category_180d',
  'top_categories_180d',
  'big_ticket_buyer',
  'spend_trend_90d',
  'txn_trend_90d',
  'days_since_last_txn',
  'tenure_days',
  'pet_owner',
  'car_owner',
  'has_young_child',
  'home_city_90d',
  'senior',
  'premium_card_holder',
  'dormant_60d',
  'churn_risk',
  'night_owl',
  'weekend_spender',
  'cafe_daily',
  'morning_coffee_hour',
  'commuter',
  'delivery_regular',
  'streaming_subscriber',
  'phone_bill_on_card',
  'favourite_merchant_90d',
  'utilities_on_card',
  'regular_salon_visits',
  'new_parent',
  'new_car_owner',
  'moved_city_recently',
  'commute_stopped',
  'commute_started',
  'clothing_burst_365d',
  'farewell_dinner_365d',
  'recently_retired',
  'new_job',
  'golf_lover',
  'golf_spend_365d',
  'favourite_cuisine',
  'favourite_cuisine_visits_365d',
  'restaurant_visits_365d',
  'foodie',
  'frequent_traveller',
  'online_shopper',
  'fitness_enthusiast',
  'luxury_shopper',
  'bookworm',
  'movie_goer',
  'vip_golfer',
] as const;

/** The query, as of T (epoch microseconds). Output: entity_id and one column per HANDWRITTEN_TAGS. */
export function handwrittenCardSql(asOfUs: number): string {
  const T = instant(asOfUs);
  const w = (days: number) => instant(asOfUs - days * DAY_US);
  const [w30, w60, w90, w180, w365] = [w(30), w(60), w(90), w(180), w(365)];
  const days = (t: string) => `((epoch_us(${T}) - epoch_us(${t})) / 86400000000.0)`;
  const cuisines = [
    'korean_bbq',
    'chinese',
    'japanese',
    'italian',
    'french',
    'thai',
    'vietnamese',
    'indian',
    'mexican',
    'american',
    'seafood',
    'vegan',
  ];
  const commute =
    "category = 'transit' AND country = 'KR' AND isodow(lt) <= 5 AND (hour(lt) BETWEEN 6 AND 9 OR hour(lt) BETWEEN 16 AND 21)";
  const life = "category IN ('grocery', 'variety_store', 'laundry', 'beauty', 'bakery')";
  const nightCats =
    "country = 'KR' AND category IN ('convenience', 'restaurant', 'fast_food', 'bar', 'food_delivery', 'taxi', 'online_marketplace', 'digital_goods')";
  return `
WITH tx AS MATERIALIZED (
  SELECT customer_id AS id, ts, amount, category, channel, country, city, cuisine, merchant_name, _file_id, _row,
         make_timestamp(epoch_us(ts) + 32400000000) AS lt  -- Seoul: UTC+9, no DST since 1988
  FROM main.transactions WHERE ts <= ${T}),
a AS (
  SELECT id,
    sum(amount) FILTER (WHERE ts > ${w30}) AS spend_30,
    sum(amount) FILTER (WHERE ts > ${w90}) AS spend_90,
    count(*) FILTER (WHERE ts > ${w90}) AS n_90,
    avg(amount) FILTER (WHERE ts > ${w90}) AS avg_90,
    sum(amount) FILTER (WHERE ts > ${w90} AND channel = 'online') AS online_90,
    sum(amount) FILTER (WHERE ts > ${w365}) AS spend_365,
    sum(amount) FILTER (WHERE ts > ${w365} AND country != 'KR') AS foreign_365,
    count(*) FILTER (WHERE ts > ${w180} AND category NOT IN ('airline', 'travel_agency', 'hotel', 'auto_insurance', 'car_rental') AND amount >= 1000000) AS big_180,
    sum(amount) FILTER (WHERE ts > ${w180} AND ts <= ${w90}) AS spend_prev_90,
    count(*) FILTER (WHERE ts > ${w180} AND ts <= ${w90}) AS n_prev_90,
    max(ts) AS last_ts,
    min(ts) AS first_ts,
    count(*) FILTER (WHERE ts > ${w365} AND category IN ('pet', 'veterinary')) AS pet_365,
    count(*) FILTER (WHERE ts > ${w180} AND category IN ('fuel', 'parking', 'tolls', 'car_wash', 'auto_service')) AS car_180,
    count(*) FILTER (WHERE ts > ${w180} AND category IN ('baby', 'kids_clothing')) AS child_180,
    count(*) FILTER (WHERE ts > ${w180} AND ${nightCats}) AS night_base,
    count(*) FILTER (WHERE ts > ${w180} AND ${nightCats} AND hour(lt) < 5) AS night_n,
    count(*) FILTER (WHERE ts > ${w90}) AS wk_n,
    sum(amount) FILTER (WHERE ts > ${w90} AND isodow(lt) >= 6) AS wk_spend,
    count(DISTINCT CAST(lt AS DATE)) FILTER (WHERE ts > ${w90} AND category = 'cafe') AS cafe_days,
    avg(hour(lt)) FILTER (WHERE ts > ${w90} AND category = 'cafe' AND isodow(lt) <= 5) AS coffee_hour,
    count(*) FILTER (WHERE ts > ${w90} AND category = 'transit' AND country = 'KR' AND isodow(lt) <= 5
                     AND (hour(lt) BETWEEN 6 AND 9 OR hour(lt) BETWEEN 16 AND 21)) AS commute_90,
    count(*) FILTER (WHERE ts > ${w90} AND category = 'food_delivery') AS delivery_90,
    count(DISTINCT month(lt)) FILTER (WHERE ts > ${w90} AND category = 'streaming') AS streaming_months,
    count(DISTINCT month(lt)) FILTER (WHERE ts > ${w90} AND category = 'telecom') AS phone_months,
    count(DISTINCT month(lt)) FILTER (WHERE ts > ${w90} AND category = 'utilities') AS utility_months,
    count(DISTINCT month(lt)) FILTER (WHERE ts > ${w180} AND category = 'beauty') AS salon_months,
    count(*) FILTER (WHERE ts > ${w365} AND category IN ('baby', 'kids_clothing')) AS baby_365,
    count(*) FILTER (WHERE category IN ('baby', 'kids_clothing')) AS baby_all,
    min(ts) FILTER (WHERE category IN ('baby', 'kids_clothing')) AS baby_first,
    max(ts) FILTER (WHERE category IN ('baby', 'kids_clothing')) AS baby_last,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'car_dealer') AS dealer_365,
    count(*) FILTER (WHERE ts > ${w365} AND category IN ('car_dealer', 'fuel', 'parking', 'tolls', 'car_wash', 'auto_service')) AS carx_365,
    count(*) FILTER (WHERE category IN ('car_dealer', 'fuel', 'parking', 'tolls', 'car_wash', 'auto_service')) AS carx_all,
    min(ts) FILTER (WHERE category IN ('car_dealer', 'fuel', 'parking', 'tolls', 'car_wash', 'auto_service')) AS carx_first,
    max(ts) FILTER (WHERE category IN ('car_dealer', 'fuel', 'parking', 'tolls', 'car_wash', 'auto_service')) AS carx_last,
    count(*) FILTER (WHERE ts > ${w365} AND channel = 'offline' AND country = 'KR' AND category = 'moving') AS moving_365,
    arg_min(city, (ts, _file_id, _row)) FILTER (WHERE ts > ${w365} AND channel = 'offline' AND country = 'KR' AND ${life} AND city IS NOT NULL) AS life_first_city,
    arg_max(city, (ts, _file_id, _row)) FILTER (WHERE ts > ${w365} AND channel = 'offline' AND country = 'KR' AND ${life} AND city IS NOT NULL) AS life_last_city,
    count(*) FILTER (WHERE ${commute} AND ts > ${w365} AND ts <= ${w60}) AS cm_before,
    count(*) FILTER (WHERE ${commute} AND ts > ${w60}) AS cm_recent,
    count(*) FILTER (WHERE ${commute}) AS cm_all,
    min(ts) FILTER (WHERE ${commute}) AS cm_first,
    max(ts) FILTER (WHERE ${commute}) AS cm_last,
    greatest(${Array.from({ length: 12 }, (_, i) => `count(*) FILTER (WHERE ts > ${w365} AND category = 'clothing' AND month(lt) = ${i + 1})`).join(', ')}) AS clothing_burst,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'restaurant' AND cuisine = 'korean_bbq' AND country = 'KR'
                     AND amount >= 120000 AND hour(lt) BETWEEN 18 AND 21) AS farewell,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'golf') AS golf_n,
    sum(amount) FILTER (WHERE ts > ${w365} AND category = 'golf') AS golf_spend,
    greatest(${cuisines.map((c) => `count(*) FILTER (WHERE ts > ${w365} AND category = 'restaurant' AND country = 'KR' AND cuisine = '${c}')`).join(', ')}) AS fav_cuisine_visits,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'restaurant' AND country = 'KR') AS restaurant_visits,
    count(DISTINCT CAST(lt AS DATE)) FILTER (WHERE ts > ${w365} AND category = 'airport' AND country = 'KR') AS airport_days,
    count(*) FILTER (WHERE ts > ${w365} AND category IN ('airline', 'travel_agency', 'hotel')) AS travel_n,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'online_marketplace') AS market_n,
    count(*) FILTER (WHERE ts > ${w365}) AS n_365,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'fitness') AS fitness_n,
    count(*) FILTER (WHERE ts > ${w365} AND category IN ('department_store', 'jewelry') AND country = 'KR') AS lux_n,
    sum(amount) FILTER (WHERE ts > ${w365} AND category IN ('department_store', 'jewelry') AND country = 'KR') AS lux_spend,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'books') AS books_n,
    count(*) FILTER (WHERE ts > ${w365} AND category = 'cinema') AS cinema_n
  FROM tx GROUP BY id),
cat180 AS (
  SELECT id, (list(category ORDER BY s DESC, category ASC))[1] AS top1,
         (list({'value': category, 'score': s} ORDER BY s DESC, category ASC))[1:3] AS top3
  FROM (SELECT id, category, sum(amount) AS s FROM tx WHERE ts > ${w180} AND category IS NOT NULL GROUP BY 1, 2) GROUP BY id),
city90 AS (
  SELECT id, (list(city ORDER BY s DESC, city ASC))[1] AS city
  FROM (SELECT id, city, count(DISTINCT CAST(lt AS DATE)) AS s FROM tx
        WHERE ts > ${w90} AND channel = 'offline' AND country = 'KR' AND city IS NOT NULL GROUP BY 1, 2) GROUP BY id),
merchant90 AS (
  SELECT id, (list(merchant_name ORDER BY s DESC, merchant_name ASC))[1] AS merchant
  FROM (SELECT id, merchant_name, count(DISTINCT CAST(lt AS DATE)) AS s FROM tx
        WHERE ts > ${w90} AND merchant_name IS NOT NULL GROUP BY 1, 2) GROUP BY id),
cuisine365 AS (
  SELECT id, (list(cuisine ORDER BY s DESC, cuisine ASC))[1] AS cuisine
  FROM (SELECT id, cuisine, count(*) AS s FROM tx
        WHERE ts > ${w365} AND category = 'restaurant' AND country = 'KR' AND cuisine != 'korean' AND cuisine IS NOT NULL GROUP BY 1, 2)
  GROUP BY id),
ent AS (SELECT DISTINCT id FROM (SELECT id FROM tx UNION ALL SELECT customer_id FROM main.customers) WHERE id IS NOT NULL),
v AS (
  SELECT ent.id, c.age_band, c.card_product, a.*,
    cat180.top1, cat180.top3, city90.city AS home_city, merchant90.merchant, cuisine365.cuisine AS fav_cuisine,
    ${days('a.last_ts')} AS d_last, ${days('a.first_ts')} AS d_first,
    ${days('a.baby_first')} AS baby_df, ${days('a.baby_last')} AS baby_dl,
    ${days('a.carx_first')} AS carx_df, ${days('a.carx_last')} AS carx_dl,
    ${days('a.cm_first')} AS cm_df, ${days('a.cm_last')} AS cm_dl
  FROM ent LEFT JOIN a ON a.id = ent.id LEFT JOIN main.customers c ON c.customer_id = ent.id
    LEFT JOIN cat180 ON cat180.id = ent.id LEFT JOIN city90 ON city90.id = ent.id
    LEFT JOIN merchant90 ON merchant90.id = ent.id LEFT JOIN cuisine365 ON cuisine365.id = ent.id),
t AS (
  SELECT id,
    COALESCE(spend_30, 0) AS spend_30d,
    COALESCE(spend_90, 0) AS spend_90d,
    COALESCE(n_90, 0) AS txn_count_90d,
    round(avg_90) AS avg_ticket_90d,
    COALESCE(online_90, 0) / NULLIF(COALESCE(spend_90, 0), 0) AS online_share_90d,
    COALESCE(foreign_365, 0) / NULLIF(COALESCE(spend_365, 0), 0) AS foreign_spend_share_365d,
    top1 AS top_merchant_category_180d,
    COALESCE(top3, []) AS top_categories_180d,
    COALESCE(big_180, 0) >= 1 AS big_ticket_buyer,
    COALESCE(spend_90, 0) / NULLIF(COALESCE(spend_prev_90, 0), 0) AS spend_trend_90d,
    COALESCE(n_90, 0) / NULLIF(COALESCE(n_prev_90, 0), 0) AS txn_trend_90d,
    d_last AS days_since_last_txn,
    d_first AS tenure_days,
    COALESCE(pet_365, 0) >= 2 AS pet_owner,
    COALESCE(car_180, 0) >= 4 AS car_owner,
    COALESCE(child_180, 0) >= 3 AS has_young_child,
    home_city AS home_city_90d,
    age_band IN ('60s', '70s') AS senior,
    card_product IN ('Platinum', 'Black') AS premium_card_holder,
    COALESCE(night_base, 0) >= 10 AND COALESCE(night_n, 0) / NULLIF(night_base, 0) >= 0.17 AND COALESCE(night_n, 0) >= 5 AS night_owl,
    COALESCE(wk_n, 0) >= 10 AND COALESCE(wk_spend, 0) >= 0.5 * COALESCE(spend_90, 0) AS weekend_spender,
    COALESCE(cafe_days, 0) >= 20 AS cafe_daily,
    round(coffee_hour) AS morning_coffee_hour,
    COALESCE(commute_90, 0) >= 3 AS commuter,
    COALESCE(delivery_90, 0) >= 6 AS delivery_regular,
    COALESCE(streaming_months, 0) >= 2 AS streaming_subscriber,
    COALESCE(phone_months, 0) >= 2 AS phone_bill_on_card,
    merchant AS favourite_merchant_90d,
    COALESCE(utility_months, 0) >= 2 AS utilities_on_card,
    COALESCE(salon_months, 0) >= 4 AS regular_salon_visits,
    COALESCE(baby_365, 0) >= 2 AND baby_df <= 365 AND d_first - baby_df >= 28
      AND COALESCE(baby_all, 0) * (d_first - baby_df) >= 5 * (baby_df - baby_dl) AS new_parent,
    COALESCE(dealer_365, 0) >= 1 OR (COALESCE(carx_365, 0) >= 4 AND carx_df <= 365 AND d_first - carx_df >= 28
      AND COALESCE(carx_all, 0) * (d_first - carx_df) >= 5 * (carx_df - carx_dl)) AS new_car_owner,
    COALESCE(moving_365, 0) >= 1 OR COALESCE(life_first_city != life_last_city, false) AS moved_city_recently,
    d_last <= 14 AND ((COALESCE(cm_before, 0) >= 6 AND COALESCE(cm_recent, 0) <= 1
        AND 60 * COALESCE(cm_before, 0) >= 6 * (least(cm_df, 365) - 60))
      OR (COALESCE(cm_all, 0) >= 6 AND cm_dl BETWEEN 30 AND 365 AND COALESCE(cm_all, 0) * cm_dl >= 6 * (cm_df - cm_dl))) AS commute_stopped,
    COALESCE(cm_all, 0) >= 10 AND cm_df <= 365 AND d_first - cm_df >= 28
      AND COALESCE(cm_all, 0) * (d_first - cm_df) >= 8 * (cm_df - cm_dl) AS commute_started,
    COALESCE(clothing_burst, 0) AS clothing_burst_365d,
    COALESCE(farewell, 0) >= 1 AS farewell_dinner_365d,
    COALESCE(golf_n, 0) >= 2 AS golf_lover,
    COALESCE(golf_spend, 0) AS golf_spend_365d,
    fav_cuisine AS favourite_cuisine,
    COALESCE(fav_cuisine_visits, 0) AS favourite_cuisine_visits_365d,
    COALESCE(restaurant_visits, 0) AS restaurant_visits_365d,
    COALESCE(airport_days, 0) >= 3 OR COALESCE(travel_n, 0) >= 6 AS frequent_traveller,
    COALESCE(market_n, 0) >= 6 AND COALESCE(market_n, 0) / NULLIF(n_365, 0) >= 0.08 AS online_shopper,
    COALESCE(fitness_n, 0) >= 3 AS fitness_enthusiast,
    COALESCE(lux_n, 0) >= 5 AND COALESCE(lux_spend, 0) >= 1500000 AS luxury_shopper,
    COALESCE(books_n, 0) >= 5 AS bookworm,
    COALESCE(cinema_n, 0) >= 5 AS movie_goer
  FROM v)
SELECT id AS entity_id, * EXCLUDE (id, age_band_ok),
  days_since_last_txn > 60 AS dormant_60d,
  days_since_last_txn > 21 OR COALESCE(txn_trend_90d < 0.35, false) AS churn_risk,
  age_band_ok AND NOT new_car_owner AND (commute_stopped OR farewell_dinner_365d) AS recently_retired,
  (commute_started AND NOT new_car_owner) OR clothing_burst_365d >= 4 AS new_job,
  favourite_cuisine_visits_365d >= 6 AND favourite_cuisine_visits_365d >= 0.4 * restaurant_visits_365d AS foodie,
  golf_lover AND spend_90d > 3000000 AS vip_golfer
FROM (SELECT t.*, v.age_band IN ('50s', '60s', '70s') AS age_band_ok FROM t JOIN v USING (id))`;
}
