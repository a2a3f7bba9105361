SELECT pg_temp."targets"."name" FROM pg_temp."targets"
