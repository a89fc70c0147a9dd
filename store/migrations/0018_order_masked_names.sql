-- The masked names an order is shown and booked with, worked out when the
-- payer opens it: that request already holds the paying user's verified
-- person and the person paid for, while settling (a notification, a query)
-- holds neither and had to read and decrypt them, one more statement in
-- every settling transaction and one more after it.
--   payer_masked: the paying user, as the order's records will carry it
--   (records.payer_masked, 0013).
--   person_masked: the person paid for, as the order's view shows it
--   (person_name_masked).
-- Only the masked form is stored (models.MaskName), as in records. NULL
-- is an order written before these columns, or one nobody's account
-- opened (a unit's, a counter's): the name is worked out as it used to be.
ALTER TABLE orders ADD COLUMN payer_masked VARCHAR(64) NULL;
ALTER TABLE orders ADD COLUMN person_masked VARCHAR(64) NULL;
