SELECT (1 + 2) AS "three"
