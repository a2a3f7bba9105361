SELECT pg_temp."targets"."size" FROM pg_temp."targets"
