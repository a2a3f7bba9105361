SELECT "target_name" FROM "obsportal"."exposures" JOIN "ivoa"."obscore" USING ("target_name", "instrument_name")
