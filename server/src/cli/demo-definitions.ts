import type { DataSource, Entity, FeatureView, LabelView } from '@plinth/schema';

/**
 * The demo platform's definitions over the lake `plinth demo-data` writes: what `plinth up`
 * applies so the catalog is not empty, and what examples/quickstart.ipynb defines itself.
 */
export const demoEntities: Entity[] = [
  {
    name: 'user',
    joinKeys: [{ name: 'user_id', type: 'int64' }],
    description: 'A shopper on the site',
    team: 'growth',
    owner: 'growth@example.com',
  },
  {
    name: 'product',
    joinKeys: [{ name: 'product_id', type: 'int64' }],
    description: 'An item in the catalog',
    team: 'catalog',
    owner: 'catalog@example.com',
  },
];

export const demoSources: DataSource[] = [
  {
    name: 'impressions',
    path: 'impressions',
    format: 'parquet',
    partitioning: { column: 'date' },
    timestampColumn: 'ts',
    description: 'Products shown to users',
  },
  {
    name: 'clicks',
    path: 'clicks',
    format: 'parquet',
    partitioning: { column: 'date' },
    timestampColumn: 'ts',
    description: 'Clicks on impressions',
  },
  { name: 'products', path: 'products/products.parquet', format: 'parquet', description: 'Product catalog snapshot' },
];

const daily = (entity: 'user' | 'product') => `
WITH daily AS (
  SELECT i.${entity}_id, date_trunc('day', i.ts) AS day, count(*) AS imps, count(c.impression_id) AS clks
  FROM impressions i LEFT JOIN clicks c ON c.impression_id = i.impression_id
  GROUP BY ALL
)`;

export const demoFeatureViews: FeatureView[] = [
  {
    name: 'user_features',
    description:
      "A user's engagement so far: impressions, clicks and smoothed click-through rate up to the end of each day.",
    entities: ['user'],
    sources: ['impressions', 'clicks'],
    sql: `${daily('user')}
SELECT user_id,
       day + INTERVAL 1 DAY AS feature_ts,
       sum(imps) OVER w::DOUBLE AS user_impressions,
       sum(clks) OVER w::DOUBLE AS user_clicks,
       (sum(clks) OVER w + 1) / (sum(imps) OVER w + 20.0) AS user_ctr
FROM daily
WINDOW w AS (PARTITION BY user_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
    timestampColumn: 'feature_ts',
    features: [
      { name: 'user_impressions', type: 'float64', description: 'Impressions seen so far' },
      { name: 'user_clicks', type: 'float64', description: 'Clicks so far' },
      { name: 'user_ctr', type: 'float64', description: 'Click-through rate so far, smoothed towards 5%' },
    ],
    ttlSeconds: 60 * 86400,
    schedule: '0 2 * * *',
    online: true,
    team: 'growth',
    owner: 'growth@example.com',
    tags: { domain: 'engagement' },
  },
  {
    name: 'product_features',
    description: "A product's popularity so far and its price.",
    entities: ['product'],
    sources: ['impressions', 'clicks', 'products'],
    sql: `${daily('product')}
SELECT d.product_id,
       d.day + INTERVAL 1 DAY AS feature_ts,
       (sum(d.clks) OVER w + 1) / (sum(d.imps) OVER w + 20.0) AS product_ctr,
       sum(d.imps) OVER w::DOUBLE AS product_impressions,
       p.price AS price
FROM daily d JOIN products p ON p.product_id = d.product_id
WINDOW w AS (PARTITION BY d.product_id ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
    timestampColumn: 'feature_ts',
    features: [
      { name: 'product_ctr', type: 'float64', description: 'Click-through rate so far, smoothed towards 5%' },
      { name: 'product_impressions', type: 'float64', description: 'Impressions so far' },
      { name: 'price', type: 'float64', description: 'List price' },
    ],
    ttlSeconds: 60 * 86400,
    schedule: '0 2 * * *',
    online: true,
    team: 'catalog',
    owner: 'catalog@example.com',
    tags: { domain: 'catalog' },
  },
];

export const demoLabelViews: LabelView[] = [
  {
    name: 'clicks',
    description: 'Whether an impression was clicked: the spine of click-model example sets.',
    entities: ['user', 'product'],
    sources: ['impressions', 'clicks'],
    sql: `SELECT i.user_id, i.product_id, i.ts, CASE WHEN c.impression_id IS NULL THEN 0 ELSE 1 END AS clicked
FROM impressions i LEFT JOIN clicks c ON c.impression_id = i.impression_id`,
    timestampColumn: 'ts',
    labels: [{ name: 'clicked', type: 'int32', description: '1 if the impression was clicked' }],
    team: 'growth',
    owner: 'growth@example.com',
  },
];
