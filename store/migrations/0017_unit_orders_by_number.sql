-- A unit's orders are listed newest first a page at a time, by a keyset on
-- the order number (U + Beijing time + digits, so by time), as a person's
-- are (ix_orders_payer_order, 0013). ix_orders_unit (unit_id, created_at)
-- cannot serve that order: every page sorted all of the unit's orders.
CREATE INDEX ix_orders_unit_order ON orders (unit_id, order_no);
