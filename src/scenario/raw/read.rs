//! Reading a document without stopping at the first error: serde stops there, so [`read`]
//! deserializes, and on an error finds the entry the error's span belongs to, records the
//! error with that entry's key path, removes the entry and tries again, until the rest
//! deserializes.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::RawScenario;
use crate::scenario::suggest;

/// A problem serde found, located and named by key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawError {
    /// Byte offset in the source.
    pub offset: usize,
    /// `servers[0].workers`; empty when the error could not be placed.
    pub path: String,
    pub message: String,
}

/// The outcome of [`read`].
#[derive(Debug, Default)]
pub struct Reading {
    /// What deserialized once the failing entries were removed; `None` only when an error
    /// could not be tied to any entry.
    pub raw: Option<RawScenario>,
    pub errors: Vec<RawError>,
    /// Key paths of the entries removed because they failed: validation must not report
    /// them (or anything under them) again as missing.
    pub removed: Vec<String>,
}

/// Deserializes a document, collecting every serde error rather than the first.
pub fn read(document: &Spanned<DeTable<'_>>) -> Reading {
    let mut table = document.clone();
    let mut reading = Reading::default();
    loop {
        let error = match RawScenario::deserialize(toml::de::Deserializer::from(table.clone())) {
            Ok(raw) => {
                reading.raw = Some(raw);
                return reading;
            }
            Err(error) => error,
        };
        let message = describe(error.message());
        let span = error.span().filter(|s| !s.is_empty());
        let located = span.clone().and_then(|span| locate(table.get_ref(), &span));
        let Some(steps) = located else {
            reading.errors.push(RawError {
                offset: span.map_or(0, |s| s.start),
                path: String::new(),
                message,
            });
            return reading;
        };
        // Remove the innermost table entry holding the error (an array element cannot be
        // removed without renumbering its siblings, so an error inside an array takes the
        // whole array with it).
        let entry_len = steps
            .iter()
            .rposition(|s| matches!(s, Step::Key(_)))
            .map_or(0, |i| i + 1);
        reading.errors.push(RawError {
            offset: span.map_or(0, |s| s.start),
            path: display_path(&steps),
            message,
        });
        let entry = steps.get(..entry_len).unwrap_or_default();
        if !remove(table.get_mut(), entry) {
            return reading;
        }
        reading.removed.push(display_path(entry));
    }
}

/// One step of a key path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// `servers[0].workers`, `expect[1].where."balancer.algorithm"`: keys joined by dots,
/// indices in brackets, keys that are not bare TOML keys quoted.
pub fn display_path(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&display_key(key));
            }
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// A key as it appears in a path: bare when TOML allows it, quoted otherwise.
pub fn display_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The path of the innermost entry or array element whose key or value span contains
/// `span`. Every table is searched, because a `[table]`'s own span covers only its header.
fn locate(table: &DeTable<'_>, span: &Range<usize>) -> Option<Vec<Step>> {
    let mut best = None;
    search_table(table, span, &mut Vec::new(), &mut best);
    best
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    !outer.is_empty() && outer.start <= inner.start && inner.end <= outer.end
}

fn search_table(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<Vec<Step>>,
) {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        if contains(&key.span(), span) || contains(&value.span(), span) {
            consider(path, best);
        }
        search_value(value.get_ref(), span, path, best);
        path.pop();
    }
}

fn search_value(
    value: &DeValue<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<Vec<Step>>,
) {
    match value {
        DeValue::Table(table) => search_table(table, span, path, best),
        DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                path.push(Step::Index(index));
                if contains(&element.span(), span) {
                    consider(path, best);
                }
                search_value(element.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

fn consider(path: &[Step], best: &mut Option<Vec<Step>>) {
    if best.as_ref().is_none_or(|b| path.len() > b.len()) {
        *best = Some(path.to_vec());
    }
}

/// Removes the entry at `steps` (which ends in a key); false when there is none.
fn remove(table: &mut DeTable<'_>, steps: &[Step]) -> bool {
    match steps {
        [Step::Key(key)] => table.remove(key.as_str()).is_some(),
        [Step::Key(key), rest @ ..] => match table.get_mut(key.as_str()) {
            Some(value) => remove_in(value.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}

fn remove_in(value: &mut DeValue<'_>, steps: &[Step]) -> bool {
    match (value, steps) {
        (DeValue::Table(table), _) => remove(table, steps),
        (DeValue::Array(array), [Step::Index(index), rest @ ..]) => match array.get_mut(*index) {
            Some(element) => remove_in(element.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}

/// Keys that moved to another table, and where: an old file that still has one is told.
const MOVED_KEYS: &[(&str, &str)] = &[(
    "panic_threshold",
    "`panic_threshold` is a key of [balancer]: the panic threshold is the cluster's \
     (Envoy's healthy_panic_threshold), and outlier ejections count against it too",
)];

/// Where key `name` went, if it is one that moved to another table.
pub fn moved_key(name: &str) -> Option<&'static str> {
    MOVED_KEYS
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, moved)| *moved)
}

/// serde's message, except that an unknown field becomes an unknown key with the valid
/// keys quoted and the closest one suggested (or, for a key that moved, where it went).
fn describe(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, rest)) = rest.split_once('`') else {
        return message.to_string();
    };
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    if let Some(moved) = moved_key(field) {
        format!("unknown key {field:?} here; {moved}")
    } else if expected.is_empty() {
        format!("unknown key {field:?}: this table takes no keys")
    } else {
        format!(
            "unknown key {field:?}, {}",
            suggest::expected_one_of(field, &expected)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Int, RawRate};
    use super::*;

    fn read_source(source: &str) -> Reading {
        let document = DeTable::parse(source).expect("valid TOML");
        read(&document)
    }

    #[test]
    fn a_valid_file_reads_without_errors() {
        let reading = read_source(
            "duration = \"10s\"\nseed = 7\n[workload]\nrate = [[\"0s\", 1], [\"1s\", 2.5]]\n\
             service = { dist = \"uniform\", min = \"1ms\", max = \"2ms\" }\n\
             [[servers]]\nqueue = \"unbounded\"\n[[servers]]\nqueue = 4\n\
             [[expect]]\nmetric = \"p99_ms\"\nmax = 3\nwhere = { a.b = 1, \"c.d\" = \"x\" }\n",
        );
        assert_eq!(reading.errors, []);
        let raw = reading.raw.expect("read");
        assert_eq!(raw.seed.map(|s| s.into_inner()), Some(Int(7)));
        let rate = raw.workload.and_then(|w| w.into_inner().rate);
        let Some(RawRate::Steps(steps)) = rate.map(Spanned::into_inner) else {
            panic!("a schedule")
        };
        assert_eq!(steps.len(), 2);
        let filter = raw.expect[0].get_ref().filter.clone().expect("where");
        let keys: Vec<&str> = filter
            .get_ref()
            .0
            .iter()
            .map(|(k, _)| k.as_ref().as_str())
            .collect();
        assert_eq!(keys, ["a.b", "c.d"]);
    }

    #[test]
    fn every_serde_error_is_reported_with_its_key_path() {
        let source = "seed = \"x\"\nbogus = 1\n[[servers]]\nworkers = 1.5\nwokers = 2\n";
        let reading = read_source(source);
        let paths: Vec<&str> = reading.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["seed", "bogus", "servers[0].workers", "servers[0].wokers"]
        );
        assert_eq!(
            reading.errors[3].message,
            "unknown key \"wokers\", expected one of \"name\", \"count\", \"workers\", \
             \"queue\", \"speed\", \"weight\", \"zone\", \"boot\", \"mtbf\", \"mttr\", \"error_fraction\", \"deregistration_delay\", \"resources\", \"pre_stop\", \"price_per_hour\"; did you mean \"workers\"?"
        );
        assert_eq!(reading.errors[2].offset, source.find("1.5").unwrap());
        assert!(reading.raw.is_some());
        assert_eq!(reading.removed.len(), 4);
    }

    #[test]
    fn an_error_inside_an_array_names_the_element() {
        let reading = read_source("[workload]\nrate = [[\"0s\", 1], [\"1s\", \"x\"]]\n");
        assert_eq!(reading.errors.len(), 1);
        assert_eq!(reading.errors[0].path, "workload.rate[1][1]");
        assert_eq!(
            reading.errors[0].message,
            "invalid type: string \"x\", expected a number"
        );
        assert_eq!(reading.removed, ["workload.rate"]);
    }

    #[test]
    fn a_step_must_have_exactly_two_elements() {
        let reading = read_source("[workload]\nrate = [[\"0s\", 1, 2]]\n");
        assert_eq!(reading.errors[0].path, "workload.rate[0]");
        assert!(reading.errors[0].message.contains("invalid length 3"));
    }

    #[test]
    fn paths_quote_keys_that_are_not_bare() {
        let steps = [
            Step::Key("expect".into()),
            Step::Index(1),
            Step::Key("where".into()),
            Step::Key("balancer.algorithm".into()),
        ];
        assert_eq!(
            display_path(&steps),
            "expect[1].where.\"balancer.algorithm\""
        );
    }
}
