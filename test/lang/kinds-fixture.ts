/** Tags of every kind over the test project's `tx` source, shared by the kinds tests of each engine. */
export const KINDS_TAGS = `
- name: fav
  kind: affinity
  description: Preferred categories.
  category: preference
  from: tx
  dimension: category
  measure: sum(amount)
  window: last 365d
  top: 2
  min_support: 2
  prior: 2
  min_score: 1.1
- name: cyc
  kind: recurrence
  description: A purchase cycle.
  category: behavior
  from: tx
  where: category = 'pet'
  window: last 180d
  min_events: 4
- name: cyc_by_channel
  kind: recurrence
  description: The most regular cycle per channel.
  category: behavior
  from: tx
  dimension: channel
  window: last 180d
- name: started
  kind: onset
  description: Baby purchases started.
  category: condition
  from: tx
  signal: category = 'baby'
  baseline: between 120d and 30d ago
  detection: last 30d
  min_signal: 2
- name: stopped
  kind: onset
  change: stop
  description: Golf stopped.
  category: condition
  from: tx
  signal: category = 'golf'
  baseline: between 120d and 30d ago
  detection: last 30d
  min_history: 60d
- name: moved
  kind: shift
  description: The usual channel changed.
  category: condition
  from: tx
  dimension: channel
  baseline: between 120d and 30d ago
  detection: last 30d
  min_share: 0.6
  min_events: 3
- name: due_soon
  description: The cycle is due within a week.
  category: behavior
  value: cyc and cyc_next_due < as_of + 7d
`;
