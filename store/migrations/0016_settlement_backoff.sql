-- A paid order's records wait for the treasury (入库, credit) and then the
-- agency (记账, booking), which answer in hours or the next working day.
-- The worker used to ask about every waiting order on every pass (once a
-- second), oldest first and at most 500 a pass: the treasury was asked the
-- same questions thousands of times, and once 500 orders waited (a
-- deadline day, or 500 the treasury never credits) no newer order was ever
-- asked. settle_next_at is when to ask about the order next: after an
-- answer of "not yet", a quarter of the time it has waited so far, at most
-- 30 minutes. NULL is "ask now" (every order written before this column).
ALTER TABLE orders ADD COLUMN settle_next_at {{TIME}} NULL;
