//! "Did you mean ...?": the closest valid name to a misspelled one.
//!
//! Every error about an unknown name (key, algorithm, distribution, metric, sweep path)
//! lists the valid names; when one of them is only a typo away it is also offered on its
//! own, so the fix can be copied from the message.

/// Longer inputs or candidates get no suggestion: edit distance is quadratic in length,
/// and names are short.
const MAX_SUGGESTION_LEN: usize = 64;

/// Prefixes that turn a word into its opposite (`bounded`, `unbounded`). A name that is
/// another with one of these added or removed is a different meaning, never a typo, so it
/// is never offered ("queue = \"bounded\": did you mean \"unbounded\"?" would invert it).
/// Compared after `normalize`, so `non_` is `non-`.
const NEGATING_PREFIXES: &[&str] = &["un", "non-", "non", "not-", "no-", "in", "dis"];

/// The candidate closest to `input` by edit distance, when close enough to be a plausible
/// typo. The rule, with lengths in characters after `normalize`:
/// - an edit distance of at most a third of the shorter of the two words, and at least
///   one edit (`posson` finds `poisson`, `c` finds `cv`; `x` finds nothing in `cv`): the
///   share of a word a typo changes, whichever of the two is the short one;
/// - or the candidate starts with the input as a whole word (`p99` finds `p99_ms`);
/// - but never a candidate that is the input with a negating prefix added or removed
///   (`NEGATING_PREFIXES`): `bounded` does not find `unbounded`.
///
/// Ties go to the earlier candidate, so the answer never depends on anything but the list.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_chars = normalize(input);
    if input_chars.len() > MAX_SUGGESTION_LEN {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let candidate_chars = normalize(candidate);
        if candidate_chars.len() > MAX_SUGGESTION_LEN
            || negates(&input_chars, &candidate_chars)
            || negates(&candidate_chars, &input_chars)
        {
            continue;
        }
        let distance = edit_distance(&input_chars, &candidate_chars);
        let limit = (input_chars.len().min(candidate_chars.len()) / 3).max(1);
        let word_prefix = !input_chars.is_empty()
            && candidate_chars.starts_with(&input_chars)
            && candidate_chars.get(input_chars.len()) == Some(&'-');
        let plausible = distance <= limit || word_prefix;
        if plausible && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Lower case, `_` read as `-`: `Round_Robin` and `round-robin` are the same name.
fn normalize(name: &str) -> Vec<char> {
    name.chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Whether `negated` is `word` with a negating prefix (`unbounded` of `bounded`).
fn negates(negated: &[char], word: &[char]) -> bool {
    !word.is_empty()
        && NEGATING_PREFIXES.iter().any(|prefix| {
            let prefix: Vec<char> = prefix.chars().collect();
            negated.len() == prefix.len() + word.len()
                && negated.starts_with(&prefix)
                && negated.ends_with(word)
        })
}

/// `expected one of "a", "b", "c"` (or `expected "a"` for a single choice), followed by
/// `; did you mean "b"?` when `found` is close to one of them.
pub fn expected_one_of(found: &str, candidates: &[&str]) -> String {
    let quoted: Vec<String> = candidates.iter().map(|c| format!("{c:?}")).collect();
    let mut message = match quoted.as_slice() {
        [only] => format!("expected {only}"),
        _ => format!("expected one of {}", quoted.join(", ")),
    };
    message.push_str(&did_you_mean(found, candidates.iter().copied()));
    message
}

/// `; did you mean "x"?` when a candidate is close to `found`, otherwise nothing.
pub fn did_you_mean<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(found, candidates)
        .map(|c| format!("; did you mean {c:?}?"))
        .unwrap_or_default()
}

/// Levenshtein distance with adjacent transpositions counted as one edit (optimal string
/// alignment), in O(len(a) * len(b)) time and O(len(b)) memory.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut before_previous: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            let mut best = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            if i > 0 && j > 0 && a[i - 1] == cb && ca == b[j - 1] {
                best = best.min(before_previous[j - 1] + 1);
            }
            current[j + 1] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        edit_distance(&a, &b)
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions_and_swaps() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("wokers", "workers"), 1);
        assert_eq!(distance("wrokers", "workers"), 1);
        assert_eq!(distance("µs", "us"), 1);
    }

    #[test]
    fn a_typo_finds_the_intended_name() {
        let algorithms = ["round-robin", "least-connections", "least-response-time"];
        assert_eq!(
            closest("least-conections", algorithms),
            Some("least-connections")
        );
        assert_eq!(closest("Round_Robin", algorithms), Some("round-robin"));
    }

    #[test]
    fn an_unrelated_name_finds_nothing() {
        assert_eq!(closest("banana", ["round-robin", "random"]), None);
        assert_eq!(closest("x", ["cv"]), None);
    }

    #[test]
    fn short_names_allow_one_edit() {
        assert_eq!(closest("c", ["cv", "max"]), Some("cv"));
    }

    #[test]
    fn the_start_of_a_name_finds_the_whole_name() {
        let metrics = ["p90_ms", "p99_ms", "p999_ms", "wait_p99_ms"];
        assert_eq!(closest("p99", metrics), Some("p99_ms"));
        assert_eq!(closest("wait_p99", metrics), Some("wait_p99_ms"));
        assert_eq!(closest("p", metrics), None);
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        assert_eq!(closest("mix", ["min", "max"]), Some("min"));
    }

    #[test]
    fn the_distance_allowed_is_a_third_of_the_shorter_word() {
        // 9 letters: 3 edits allowed against another 9-letter word ...
        assert_eq!(closest("unbxunxex", ["unbounded"]), Some("unbounded"));
        assert_eq!(closest("xnbxunxex", ["unbounded"]), None);
        // ... but only 2 against a 6-letter input, though "unbounded" is 9 letters.
        assert_eq!(closest("bounde", ["unbounded"]), None);
        assert_eq!(closest("unbonded", ["unbounded"]), Some("unbounded"));
    }

    #[test]
    fn the_opposite_of_a_name_is_never_suggested() {
        assert_eq!(closest("bounded", ["unbounded"]), None);
        assert_eq!(closest("Bounded", ["unbounded"]), None);
        assert_eq!(closest("unbounded", ["bounded"]), None);
        assert_eq!(closest("blocking", ["non-blocking"]), None);
        assert_eq!(closest("non_blocking", ["blocking"]), None);
        assert_eq!(closest("active", ["inactive"]), None);
        assert_eq!(did_you_mean("bounded", ["unbounded"]), "");
        // A typo of the negated name itself is still found.
        assert_eq!(closest("unbouned", ["unbounded"]), Some("unbounded"));
    }

    #[test]
    fn the_expected_list_quotes_every_name_and_suggests_the_closest() {
        assert_eq!(
            expected_one_of("posson", &["poisson", "constant"]),
            "expected one of \"poisson\", \"constant\"; did you mean \"poisson\"?"
        );
        assert_eq!(expected_one_of("zzz", &["only"]), "expected \"only\"");
    }
}
