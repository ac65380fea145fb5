/**
 * The console's own logic around the tag language, as pure functions: what autocomplete offers where,
 * which expressions it checks before asking the server.
 */
import { describe, expect, it } from 'vitest';
import { checkLocally, knownNames } from '../../web/src/lang/check.js';
import { complete, type Vocabulary, valueSubject } from '../../web/src/lang/complete.js';
import { lexLoosely, pieces } from '../../web/src/lang/tokens.js';
import { tooltipLines } from '../../web/src/ui/format.js';

const VALUES: Record<string, string[]> = {
  region: ['Seoul', 'Busan', "Jeju's"],
  cuisine_affinity: ['korean_bbq', 'italian'],
};

const vocab: Vocabulary = {
  names: [
    { name: 'golf_lover', kind: 'tag', type: 'boolean', title: 'Golf lover', category: 'preference' },
    { name: 'golf_spend_365d', kind: 'tag', type: 'number', title: 'Golf spend', category: 'preference' },
    { name: 'spend_90d', kind: 'tag', type: 'number', title: 'Spend, last 90 days', category: 'behavior' },
    { name: 'home_city_90d', kind: 'tag', type: 'category', title: 'Home city', category: 'condition' },
    { name: 'cuisine_affinity', kind: 'tag', type: 'list', title: 'Cuisines', category: 'preference' },
    { name: 'region', kind: 'attribute', type: 'string' },
  ],
  functions: [
    { name: 'has', doc: 'list membership' },
    { name: 'round', doc: 'round' },
  ],
  valuesOf: (name) => VALUES[name],
};

/** Completions with the caret at `|`. */
function at(textWithCaret: string) {
  const cursor = textWithCaret.indexOf('|');
  const text = textWithCaret.replace('|', '');
  return { text, cursor, c: complete(text, cursor, vocab) };
}

const apply = (text: string, c: ReturnType<typeof complete>, i = 0) =>
  text.slice(0, c.from) + c.items[i]!.insert + text.slice(c.to);

describe('autocomplete', () => {
  it('completes a tag name being typed, best match first, replacing the whole word', () => {
    const { text, c } = at('golf_lo| and spend_90d > 10');
    expect(c.items[0]).toMatchObject({ label: 'golf_lover', kind: 'tag' });
    expect(apply(text, c)).toBe('golf_lover and spend_90d > 10');
    const mid = at('gol|f_lover');
    expect(apply(mid.text, mid.c)).toBe('golf_lover');
  });

  it('finds names by title words too, and offers functions with their parenthesis', () => {
    expect(at('city|').c.items.map((s) => s.label)).toEqual(['home_city_90d']);
    const fn = at('ha|');
    expect(fn.c.items[0]).toMatchObject({ label: 'has()', insert: 'has(', kind: 'function' });
  });

  it('offers operators that fit the type of the name just written', () => {
    expect(at('spend_90d |').c.items.map((s) => s.label)).toEqual(
      expect.arrayContaining(['>', '>=', '<', 'between', 'is null']),
    );
    expect(
      at('golf_lover |')
        .c.items.map((s) => s.label)
        .slice(0, 2),
    ).toEqual(['and', 'or']);
    expect(at('region |').c.items.map((s) => s.label)).toEqual(expect.arrayContaining(['=', 'in (']));
    expect(at('golf_lover an|').c.items[0]).toMatchObject({ label: 'and', insert: 'and ' });
  });

  it('offers the values of a name after =, in ( and has(list, — quoted', () => {
    const eq = at('region = |');
    expect(eq.c.items.map((s) => s.insert)).toEqual(["'Seoul'", "'Busan'", "'Jeju''s'"]);
    expect(apply(eq.text, eq.c)).toBe("region = 'Seoul'");
    expect(at("region in ('Seoul', |").c.items.map((s) => s.label)).toContain('Busan');
    expect(at('region not in (|').c.items).toHaveLength(3);
    expect(at('has(cuisine_affinity, |').c.items.map((s) => s.label)).toEqual(['korean_bbq', 'italian']);
  });

  it('completes a value inside the quotes being typed, closing quote included', () => {
    const open = at("golf_lover and region = 'Bu|");
    expect(open.c.items.map((s) => s.label)).toEqual(['Busan']);
    expect(apply(open.text, open.c)).toBe("golf_lover and region = 'Busan'");
    const closed = at("region = 'Se|'");
    expect(apply(closed.text, closed.c)).toBe("region = 'Seoul'");
  });

  it('asks for the values it does not know yet', () => {
    const c = at('home_city_90d = |').c;
    expect(c.items).toEqual([]);
    expect(c.needsValuesOf).toBe('home_city_90d');
  });

  it('does not read a duration as a name', () => {
    expect(at('spend_90d > 9|').c.items).toEqual([]);
  });

  it('finds the name a value belongs to, qualified names included', () => {
    const subject = (t: string) => valueSubject(lexLoosely(t).tokens);
    expect(subject('region =')).toBe('region');
    expect(subject('customers.region !=')).toBe('customers.region');
    expect(subject("x and region in ('a', 'b',")).toBe('region');
    expect(subject('golf_lover and')).toBeUndefined();
  });
});

describe('checking an expression before counting it', () => {
  const names = knownNames(
    ['golf_lover', 'spend_90d', 'cuisine_affinity'],
    [{ name: 'region', source: 'customers', column: 'region' }],
  );

  it('lets through what parses and names only known tags and attributes', () => {
    for (const ok of [
      'golf_lover',
      "golf_lover and spend_90d > 1000000 and region in ('Seoul', 'Busan')",
      "customers.region = 'Seoul' or not golf_lover",
      "has(cuisine_affinity, 'korean_bbq') and spend_90d between 1 and 2",
      "spend_90d is not null and as_of > timestamp('2025-01-01T00:00:00Z')",
    ])
      expect(checkLocally(ok, names), ok).toBeUndefined();
  });

  it('stops an unfinished expression at the place it ends', () => {
    const p = checkLocally('golf_lover and', names);
    expect(p).toMatchObject({ start: 14 });
    expect(p!.message).toMatch(/end of expression/);
    expect(checkLocally("region = 'Seo", names)!.message).toMatch(/unterminated string/);
  });

  it('names an unknown tag where it stands, with a did-you-mean', () => {
    const p = checkLocally('spend_90d > 5 and golf_lovr', names);
    expect(p).toEqual({
      start: 18,
      end: 27,
      message: "unknown tag or profile attribute 'golf_lovr' (did you mean 'golf_lover'?)",
    });
  });
});

describe('highlighting', () => {
  it('covers the whole text: tokens, the spaces between them and an unfinished tail', () => {
    const text = "golf_lover and region = 'Seo";
    const p = pieces(text);
    expect(p.map((x) => x.text).join('')).toBe(text);
    expect(p.map((x) => x.kind)).toEqual([
      'ident',
      'text',
      'keyword',
      'text',
      'ident',
      'text',
      'op',
      'text',
      'error',
    ]);
  });
});

describe('chart tooltips', () => {
  it('are plain text: markup in tag titles or data values is escaped', () => {
    expect(tooltipLines('golf_lover', '<img src=x onerror=alert(1)>', "Tom & Jerry's")).toBe(
      'golf_lover<br/>&lt;img src=x onerror=alert(1)&gt;<br/>Tom &amp; Jerry&#39;s',
    );
  });
});
