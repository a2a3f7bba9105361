SELECT pg_temp."targets"."Mixed Case" FROM pg_temp."targets"
