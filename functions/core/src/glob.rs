//! IAM-style wildcard patterns: `*` matches any run of characters (including none, and across
//! `/` and `:`), `?` matches exactly one character, and a pattern matches the whole string.
//!
//! Matching ignores ASCII case by default. IAM role and user names, and SageMaker resource names,
//! are unique regardless of case (`MLDeployer` and `mldeployer` cannot both exist), so a
//! case-sensitive match would only let a differently-cased reference slip past a binding. Image
//! URIs and S3 keys are another matter: `Fraud.tar.gz` and `fraud.tar.gz` are two objects, so
//! their patterns ([`Pattern::case_sensitive`]) match case and all.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as written (after canonicalisation), for messages and verdicts.
    text: String,
    /// ASCII-lower-cased, for matching.
    folded: String,
    /// Number of non-wildcard characters: among globs, more literal characters is more specific.
    literal_chars: usize,
    /// Length in bytes of the literal text before the first wildcard.
    prefix_len: usize,
    /// Matches case and all: `folded` is then the text as written.
    case_sensitive: bool,
}

impl Pattern {
    pub fn new(text: impl Into<String>) -> Pattern {
        let text = text.into();
        let folded = text.to_ascii_lowercase();
        let literal_chars = folded.chars().filter(|c| !is_wildcard(*c)).count();
        let prefix_len = folded.find(is_wildcard).unwrap_or(folded.len());
        Pattern {
            text,
            folded,
            literal_chars,
            prefix_len,
            case_sensitive: false,
        }
    }

    /// A pattern that matches case and all (image URIs, S3 locations).
    pub fn case_sensitive(text: impl Into<String>) -> Pattern {
        let text = text.into();
        let literal_chars = text.chars().filter(|c| !is_wildcard(*c)).count();
        let prefix_len = text.find(is_wildcard).unwrap_or(text.len());
        Pattern {
            folded: text.clone(),
            text,
            literal_chars,
            prefix_len,
            case_sensitive: true,
        }
    }

    /// The form of `text` this pattern compares: lower-cased unless it matches case.
    pub fn comparable<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.case_sensitive {
            std::borrow::Cow::Borrowed(text)
        } else {
            std::borrow::Cow::Owned(fold(text))
        }
    }

    /// Whether some text that starts with `prefix` matches (a multi-model endpoint's prefix
    /// serves anything under it; an image by tag may be any digest of its repository).
    pub fn could_match_under(&self, prefix: &str) -> bool {
        !positions_after(&self.folded, &self.comparable(prefix)).is_empty()
    }

    /// Whether every text that starts with `prefix` matches. Exact for a pattern ending in `*`
    /// (its part before that `*` matches some start of `prefix`); any other pattern is taken not
    /// to, which only ever refuses (a pin is then not satisfied).
    pub fn matches_all_under(&self, prefix: &str) -> bool {
        let Some(last) = self.folded.chars().count().checked_sub(1) else {
            return false;
        };
        self.folded.ends_with('*')
            && positions_after(&self.folded, &self.comparable(prefix)).contains(&last)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_glob(&self) -> bool {
        self.prefix_len < self.folded.len()
    }

    pub fn literal_chars(&self) -> usize {
        self.literal_chars
    }

    /// The lower-cased literal text before the first wildcard (the whole pattern if it has none).
    pub fn folded_prefix(&self) -> &str {
        &self.folded[..self.prefix_len]
    }

    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Whether `text` matches; `text` must already be ASCII-lower-cased (see [`fold`]).
    pub fn matches_folded(&self, text: &str) -> bool {
        glob_match(self.folded.as_bytes(), text.as_bytes())
    }

    /// Whether `text` matches (ignoring ASCII case unless the pattern matches case).
    pub fn matches(&self, text: &str) -> bool {
        self.matches_folded(&self.comparable(text))
    }
}

/// The pattern positions (in characters) reachable after reading all of `text`, a `*` standing
/// for any run: empty when no text starting with `text` can match.
fn positions_after(pattern: &str, text: &str) -> Vec<usize> {
    let pattern: Vec<char> = pattern.chars().collect();
    // A `*` may match nothing: reaching it reaches what follows it too.
    let close = |set: &mut Vec<usize>| {
        let mut i = 0;
        while i < set.len() {
            let p = set[i];
            if pattern.get(p) == Some(&'*') && !set.contains(&(p + 1)) {
                set.push(p + 1);
            }
            i += 1;
        }
    };
    let mut set = vec![0];
    close(&mut set);
    for c in text.chars() {
        let mut next = Vec::new();
        for &p in &set {
            match pattern.get(p) {
                Some('*') => next.push(p),
                Some('?') => next.push(p + 1),
                Some(&l) if l == c => next.push(p + 1),
                _ => {}
            }
        }
        next.sort_unstable();
        next.dedup();
        close(&mut next);
        if next.is_empty() {
            return next;
        }
        set = next;
    }
    set
}

/// IAM's wildcards over `text` as it is, case and all (IAM paths are case-sensitive).
pub fn matches_exact(pattern: &str, text: &str) -> bool {
    glob_match(pattern.as_bytes(), text.as_bytes())
}

/// The form [`Pattern::matches_folded`] expects.
pub fn fold(text: &str) -> String {
    text.to_ascii_lowercase()
}

fn is_wildcard(c: char) -> bool {
    c == '*' || c == '?'
}

/// Length of the UTF-8 sequence that starts with `lead`: `?` and backtracking move by whole
/// characters, so a non-ASCII name is matched character by character, as IAM does.
fn char_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Iterative wildcard matching with single-star backtracking: linear in practice, and never
/// exponential (each `*` only remembers the latest restart point).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the latest `*` was in the pattern, and where in the text it is to resume.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(text[t]);
                continue;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_p, star_t)) => {
                let resume = star_t + char_len(text[star_t]);
                star = Some((star_p, resume));
                p = star_p + 1;
                t = resume;
            }
            None => return false,
        }
    }
    // `?` on a truncated sequence cannot happen for valid UTF-8, but never read past the end.
    if t > text.len() {
        return false;
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern).matches(text)
    }

    #[test]
    fn iam_wildcards() {
        assert!(m("fraud-*", "fraud-v3"));
        assert!(m("fraud-*", "fraud-"));
        assert!(!m("fraud-*", "fraud"));
        assert!(m("fraud-v?", "fraud-v3"));
        assert!(!m("fraud-v?", "fraud-v33"));
        assert!(m("*", ""));
        assert!(m("*", "anything/at:all"));
        assert!(m(
            "arn:aws:iam::*:role/ML*",
            "arn:aws:iam::111122223333:role/MLDeployer"
        ));
        assert!(!m(
            "arn:aws:iam::*:role/ML*",
            "arn:aws:iam::111122223333:user/MLDeployer"
        ));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*-v3", "fraud-v3"));
        assert!(!m("exact", "exactly"));
        assert!(!m("exact", "inexact"));
    }

    #[test]
    fn ignores_ascii_case() {
        assert!(m("Fraud-*", "FRAUD-v3"));
        assert!(m(
            "arn:aws:iam::1:role/MLDeployer",
            "arn:aws:iam::1:role/mldeployer"
        ));
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        assert!(m("mod?le", "modèle"));
        assert!(!m("mod??le", "modèle"));
        assert!(m("生?", "生产"));
        assert!(m("*产", "生产"));
    }

    #[test]
    fn specificity() {
        let p = Pattern::new("fraud-*");
        assert!(p.is_glob());
        assert_eq!(p.literal_chars(), 6);
        assert_eq!(p.folded_prefix(), "fraud-");
        let exact = Pattern::new("Fraud-V3");
        assert!(!exact.is_glob());
        assert_eq!(exact.folded_prefix(), "fraud-v3");
    }

    /// A plainly recursive reference matcher over characters, to check the fast one against.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    #[test]
    fn case_sensitive_patterns_match_case_and_all() {
        let p = Pattern::case_sensitive("s3://models/Fraud/*");
        assert!(p.matches("s3://models/Fraud/model.tar.gz"));
        assert!(!p.matches("s3://models/fraud/model.tar.gz"));
        assert!(Pattern::new("Fraud-*").matches("fraud-v3"));
    }

    #[test]
    fn under_a_prefix() {
        let p = Pattern::case_sensitive("s3://models/fraud/*");
        // A prefix above the pattern's: some object under it matches, not every one.
        assert!(p.could_match_under("s3://models/"));
        assert!(!p.matches_all_under("s3://models/"));
        // A prefix inside the pattern's: every object under it matches.
        assert!(p.could_match_under("s3://models/fraud/v3/"));
        assert!(p.matches_all_under("s3://models/fraud/v3/"));
        // Beside it: nothing under it matches.
        assert!(!p.could_match_under("s3://models/churn/"));
        assert!(!p.could_match_under("s3://models/Fraud/"));
        let exact = Pattern::case_sensitive("s3://models/fraud/model.tar.gz");
        assert!(exact.could_match_under("s3://models/fraud/"));
        assert!(!exact.matches_all_under("s3://models/fraud/"));
        assert!(Pattern::case_sensitive("*").matches_all_under("anything"));
        assert!(Pattern::case_sensitive("s3://*/fraud/*").matches_all_under("s3://b/fraud/"));
        assert!(!Pattern::case_sensitive("").could_match_under("s3://"));
    }

    /// Whether `p` matches `prefix` followed by each of a few texts, by the reference matcher.
    fn reference_under(p: &[char], prefix: &[char], all: bool) -> bool {
        let suffixes: [&[char]; 5] = [&[], &['a'], &['b'], &['a', 'b'], &['é', 'a', 'b', 'b']];
        let mut results = suffixes.iter().map(|s| {
            let text: Vec<char> = prefix.iter().chain(s.iter()).copied().collect();
            reference(p, &text)
        });
        if all {
            results.all(|m| m)
        } else {
            results.any(|m| m)
        }
    }

    proptest! {
        #[test]
        fn under_a_prefix_agrees_with_the_reference(p in "[ab*?é]{0,6}", t in "[abé]{0,5}") {
            let pattern = Pattern::case_sensitive(p.clone());
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            // Every text under the prefix matches → some sampled one does; and the claim that
            // all do is never made where a sampled one does not.
            if pattern.matches_all_under(&t) {
                prop_assert!(reference_under(&pc, &tc, true));
            }
            if reference_under(&pc, &tc, false) {
                prop_assert!(pattern.could_match_under(&t));
            }
            if !pattern.could_match_under(&t) {
                prop_assert!(!reference_under(&pc, &tc, false));
            }
        }

        #[test]
        fn agrees_with_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(Pattern::new(p.clone()).matches(&t), reference(&pc, &tc));
        }
    }
}
