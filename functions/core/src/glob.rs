//! IAM-style wildcard patterns: `*` matches any run of characters (including none, and across
//! `/` and `:`), `?` matches exactly one character, and a pattern matches the whole string.
//!
//! Matching ignores ASCII case. IAM role and user names, and SageMaker resource names, are unique
//! regardless of case (`MLDeployer` and `mldeployer` cannot both exist), so a case-sensitive match
//! would only let a differently-cased reference slip past a binding.

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
        }
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

    /// Whether `text` matches, ignoring ASCII case.
    pub fn matches(&self, text: &str) -> bool {
        self.matches_folded(&fold(text))
    }
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

    proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(Pattern::new(p.clone()).matches(&t), reference(&pc, &tc));
        }
    }
}
