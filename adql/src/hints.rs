//! "Did you mean ...?": the known name closest to what was written.

/// The known name closest to what was written, if close enough to be a typo.
pub(crate) fn closest(written: &str, known: &[String]) -> Option<String> {
    let written = written.to_ascii_lowercase();
    if let Some(prefixed) = known
        .iter()
        .find(|k| k.to_ascii_lowercase().ends_with(&format!("_{written}")))
    {
        return Some(prefixed.clone());
    }
    known
        .iter()
        .map(|k| (edit_distance(&written, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            current.push(
                (previous[j] + usize::from(ca != *cb))
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}
