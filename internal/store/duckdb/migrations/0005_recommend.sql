-- 0005_recommend: the stored item-to-item recommendation model
-- (docs/recommendations.md). The three tables are replaced together, in one
-- transaction, by every build (atrium scores run, atrium scores model
-- recommend); readers see one whole model. No primary keys: a build deletes
-- and re-inserts every row in one transaction, which DuckDB's index checks
-- refuse, and the tables are read by product id in bulk.

-- For each product its K most similar products (cosine similarity of the
-- products' customer vectors), rank 1 = most similar.
CREATE TABLE reco_neighbours (
    product_id   TEXT    NOT NULL,
    neighbour_id TEXT    NOT NULL,
    similarity   DOUBLE  NOT NULL,
    together     INTEGER NOT NULL, -- profiles having both products
    rank         INTEGER NOT NULL
);

-- Every product bought, with its display name and popularity; popular_rank
-- is NULL for products not bought in the popularity window.
CREATE TABLE reco_items (
    product_id    TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    buyers        INTEGER NOT NULL,
    window_buyers INTEGER NOT NULL,
    share         DOUBLE,
    popular_rank  INTEGER
);

-- One row: when and how the model in the two tables above was built.
CREATE TABLE reco_model (
    built_at      TIMESTAMP NOT NULL,
    trained_until TIMESTAMP NOT NULL,
    window_start  TIMESTAMP,
    window_end    TIMESTAMP,
    profiles      INTEGER NOT NULL,
    products      INTEGER NOT NULL,
    pairs         INTEGER NOT NULL,
    options       TEXT NOT NULL,
    build_seconds DOUBLE NOT NULL
);
