-- External series (issue 15, values recorded by CI: coverage, build time): the unit shown beside
-- their values and the number of fractional digits a value may have. A point of such a series
-- stores value × 10^decimals in points.value (bigint), so series_buckets' sums, alerts and every
-- integer reader keep working; reads divide by 10^decimals. Computed series leave both NULL and
-- are stored and read exactly as before. Values stay non-negative (points.value's CHECK).
ALTER TABLE series
  ADD COLUMN unit text CHECK (unit IS NULL OR length(unit) BETWEEN 1 AND 16),
  ADD COLUMN decimals smallint CHECK (decimals IS NULL OR decimals BETWEEN 0 AND 6);
